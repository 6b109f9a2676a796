from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "Charging"

    def ready(self) -> None:
        from charging import reservations  # noqa: F401  (connects its command_settled receiver)
