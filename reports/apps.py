from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # The dashboard's live feed listens to charger events; an export's file goes with its row.
        from reports import live, signals  # noqa: F401
