"""WebSocket routes: ws://host/<prefix>/<charge point id> for each configured prefix."""

import re

from django.conf import settings
from django.urls import re_path

from ocpp_gateway.consumer import OcppConsumer


def _route(prefix: str):
    prefix = prefix.strip("/")
    path = rf"^{re.escape(prefix)}/(?P<charge_point_id>[^/]+)$" if prefix else r"^(?P<charge_point_id>[^/]+)$"
    # django-stubs types re_path for Django views; Channels routes ASGI applications with it.
    return re_path(path, OcppConsumer.as_asgi())  # type: ignore[arg-type]


websocket_urlpatterns = [_route(prefix) for prefix in settings.OCPP_PATH_PREFIXES]
