from django.urls import path

from ocpp_gateway.api.messages import ChargerMessagesView, MessagesView
from ocpp_gateway.api.views import ChargerCommandsView, CommandDetailView, CommandListView

urlpatterns = [
    path("chargers/<str:charge_point_id>/commands", ChargerCommandsView.as_view(), name="charger-commands"),
    path("commands", CommandListView.as_view(), name="commands"),
    path("commands/<int:command_id>", CommandDetailView.as_view(), name="command-detail"),
    path("messages", MessagesView.as_view(), name="messages"),
    path("chargers/<str:charge_point_id>/messages", ChargerMessagesView.as_view(), name="charger-messages"),
]
