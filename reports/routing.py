"""WebSocket routes of the reports app: the dashboard's live feed (browser session or JWT)."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from reports.consumers import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboard", AuthMiddlewareStack(DashboardConsumer.as_asgi()))]
