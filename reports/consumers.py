"""`/ws/dashboard`: the browser's live feed of status changes and session starts and stops.

Authentication: the admin's session cookie, or `Authorization: Bearer <access token>` (the
API's JWT) for clients that can set headers. A cookie is ambient, so a session is accepted
only from a page of our own (an Origin among ALLOWED_HOSTS): another site cannot open the
socket with the operator's cookie. The socket joins only the groups of the organizations the
user acts in (S14): one organization's events never reach another's browser."""

import logging
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

from accounts.tenancy import organizations_of
from accounts.tokens import user_from_access_token
from reports.live import PLATFORM_GROUP, organization_group

logger = logging.getLogger(__name__)

# Close codes (application range): not signed in, no organization to watch.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def same_site_origin(scope: dict) -> bool:
    host = urlsplit(_header(scope, b"origin")).hostname
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


_user_from_bearer = database_sync_to_async(user_from_access_token)


@database_sync_to_async
def _groups_of(user) -> list[str]:
    if user.is_superuser:
        return [PLATFORM_GROUP]
    return [organization_group(pk) for pk in organizations_of(user).values_list("pk", flat=True)]


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = await self._authenticate()
        if user is None or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        groups = await _groups_of(user)
        if not groups:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()

    async def _authenticate(self):
        authorization = _header(self.scope, b"authorization")
        if authorization.lower().startswith("bearer "):
            return await _user_from_bearer(authorization[7:].strip())
        user = self.scope.get("user") or AnonymousUser()
        if user.is_authenticated and same_site_origin(self.scope):
            return user
        return None

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """The feed is one-way; anything the browser sends is ignored."""

    async def dashboard_events(self, message: dict) -> None:
        for event in message["events"]:
            await self.send_json(event)
