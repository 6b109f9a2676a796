"""WebSocket routes of the integrations app: the live event socket for API clients."""

from django.urls import path

from integrations.consumers import EventsConsumer

# Django's path(), as channels documents; its stubs want a view where channels passes an ASGI app.
websocket_urlpatterns = [path("ws/events", EventsConsumer.as_asgi())]  # type: ignore[arg-type]
