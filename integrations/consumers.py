"""`/ws/events`: the outbound events (integrations.events) live, for API clients.

Authentication: `Authorization: Bearer <access token>` (the API's JWT); no cookie, so no
browser page of another site can open it with someone's session. The socket joins the event
groups of the organizations the user belongs to (all of them for a platform superuser): one
organization's events never reach another's client (S14). Optional filters in the query string:
`types` (comma-separated event types), `charger` (charge point id), `site` (id)."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts.tenancy import organizations_of
from accounts.tokens import user_from_access_token
from integrations.events import EVENT_TYPES, organization_group
from integrations.sinks import remember_server_loop

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_FILTER = 4400
CLOSE_DISABLED = 4404


def _bearer(scope: Mapping[str, Any]) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


@database_sync_to_async
def _groups_of(user) -> list[str]:
    organizations = organizations_of(user).values_list("pk", flat=True)
    return [organization_group(pk) for pk in organizations]


class EventFilter:
    def __init__(self, query: dict[str, list[str]]) -> None:
        types = {name for value in query.get("types", []) for name in value.split(",") if name}
        unknown = types - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(sorted(unknown))}")
        site = query.get("site", [""])[0]
        if site and not site.isdigit():
            raise ValueError("site: an id")
        self.types = types
        self.charger = query.get("charger", [""])[0]
        self.site = int(site) if site else None

    def admits(self, event: dict) -> bool:
        data = event["data"]
        return (
            (not self.types or event["type"] in self.types)
            and (not self.charger or data.get("charge_point_id") == self.charger)
            and (self.site is None or data.get("site_id") == self.site)
        )


class EventsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    filter: EventFilter

    async def connect(self) -> None:
        self.groups_joined = []
        if not settings.INTEGRATIONS_EVENT_SOCKET:
            await self.close(code=CLOSE_DISABLED)
            return
        user = await database_sync_to_async(user_from_access_token)(_bearer(self.scope))
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            self.filter = EventFilter(parse_qs(self.scope.get("query_string", b"").decode("latin-1")))
        except ValueError:
            await self.close(code=CLOSE_BAD_FILTER)
            return
        groups = await _groups_of(user)
        if not groups:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        remember_server_loop()
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """One-way: what a client sends is ignored."""

    async def integration_events(self, message: dict) -> None:
        for event in message["events"]:
            if self.filter.admits(event):
                await self.send_json(event)
