from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from reports import signals  # noqa: F401  (deletes an export's file with its row)
