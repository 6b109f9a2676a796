from django.apps import AppConfig


class OcppGatewayConfig(AppConfig):
    verbose_name = "OCPP gateway"
    name = "ocpp_gateway"

    def ready(self) -> None:
        from ocpp_gateway.command_check import check_intent, intent_kinds, longest_id_token
        from sites.commands.rules import register_id_token_limit, register_intent_kinds, register_intent_validator

        register_intent_validator(check_intent)
        register_intent_kinds(intent_kinds)
        register_id_token_limit(longest_id_token)
