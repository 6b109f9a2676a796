"""One ASGI application: HTTP goes to Django, WebSockets to the OCPP gateway."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from ocpp_gateway.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Chargers send no Origin header and no session cookie: no Origin validator or
        # session auth on this route; charger credentials are checked at the handshake.
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
