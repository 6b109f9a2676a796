from django.apps import AppConfig


class OcppGatewayConfig(AppConfig):
    verbose_name = "OCPP gateway"
    name = "ocpp_gateway"
