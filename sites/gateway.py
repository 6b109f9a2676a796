"""Messages to the process holding a charger's socket, through the channel layer (DESIGN:
"commands go channel_layer.send(channel_name, ...)"). The gateway's consumer handles each
message type: "ocpp.command" (sites.commands.notify_gateway), "ocpp.disconnect" (close the
socket, sites.services.disconnect_charger)."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

DISCONNECT = "ocpp.disconnect"


async def _send(channel_name: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
    await asyncio.wait_for(layer.send(channel_name, message), settings.OCPP_NOTIFY_TIMEOUT)


def send_to_gateway(channel_name: str, message: dict) -> None:
    """Send `message` to the consumer listening on `channel_name`; raises when the channel layer
    cannot be reached in OCPP_NOTIFY_TIMEOUT seconds."""
    async_to_sync(_send)(channel_name, message)
