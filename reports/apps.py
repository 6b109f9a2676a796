from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # The dashboard's live feed listens to charger events; an export's file goes with its row;
        # faults and critical security events raise alerts.
        from reports import alert_receivers, live, signals  # noqa: F401
