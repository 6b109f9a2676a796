from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from reports import live  # noqa: F401  (the dashboard's live feed listens to charger events)
