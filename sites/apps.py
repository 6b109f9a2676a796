from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Sites and chargers"

    def ready(self) -> None:
        # Connect the certificate inventory's command_settled receiver.
        from sites.certificates import services  # noqa: F401
