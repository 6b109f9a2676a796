"""One ASGI application: HTTP goes to Django, WebSockets to the OCPP gateway."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from common.garbage import start_timed_collections, stop_timed_collections  # noqa: E402
from csms.embedded_beat import start_embedded_beat, stop_embedded_beat  # noqa: E402
from csms.sync_threads import (  # noqa: E402
    on_bounded_threads,
    start_idle_connection_reaper,
    stop_idle_connection_reaper,
)
from integrations.routing import websocket_urlpatterns as event_routes  # noqa: E402
from ocpp_gateway.group_commit import drain_group_commits  # noqa: E402
from ocpp_gateway.message_log import start_message_log_writer, stop_message_log_writer  # noqa: E402
from ocpp_gateway.routing import websocket_urlpatterns as ocpp_routes  # noqa: E402
from reports.live import start_dashboard_publisher, stop_dashboard_publisher  # noqa: E402
from reports.routing import websocket_urlpatterns as dashboard_routes  # noqa: E402

router = ProtocolTypeRouter(
    {
        # Each request's sync code on one of a fixed set of threads: bounded connections (S24).
        "http": on_bounded_threads(django_asgi_app),
        # Chargers send no Origin header and no session cookie: no Origin validator or
        # session auth on their routes; charger credentials are checked at the handshake.
        # The dashboard's and the event socket's routes (first, so no charger id can shadow
        # them) carry their own.
        # (Django's path() patterns, as channels documents; its stubs want a pattern type of their own.)
        "websocket": URLRouter([*dashboard_routes, *event_routes, *ocpp_routes]),  # type: ignore[list-item]
    }
)


async def lifespan(scope, receive, send) -> None:
    """Start the message-log writer, the garbage collector's clock (and, without a broker, the
    periodic tasks) with the server; flush what is buffered on shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            start_message_log_writer()
            start_dashboard_publisher()
            start_embedded_beat()
            start_timed_collections()
            start_idle_connection_reaper()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_embedded_beat()
            await stop_timed_collections()
            await stop_idle_connection_reaper()
            await drain_group_commits()
            await stop_dashboard_publisher()
            await stop_message_log_writer()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    else:
        await router(scope, receive, send)
