from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites and chargers"

    def ready(self) -> None:
        # Connect the certificate inventory's command_settled receiver, and the device model's
        # charger_booted one.
        from sites.certificates import services  # noqa: F401
        from sites.device_model import receivers  # noqa: F401
