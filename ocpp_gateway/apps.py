from django.apps import AppConfig


class OcppGatewayConfig(AppConfig):
    verbose_name = "OCPP gateway"
    name = "ocpp_gateway"

    def ready(self) -> None:
        from ocpp_gateway.command_check import check_intent
        from sites.commands.rules import register_intent_validator

        register_intent_validator(check_intent)
