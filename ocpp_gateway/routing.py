"""WebSocket routes. The OCPP consumer is added by the gateway (issue 3)."""

websocket_urlpatterns: list = []
