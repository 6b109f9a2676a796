"""Where outbound events go. A Redis stream per organization (`<prefix>:<organization id>`),
capped near INTEGRATIONS_EVENT_STREAM_MAXLEN entries, each entry one field `event` holding the
event's JSON: a consumer in any language reads it with a consumer group (XREADGROUP / XACK)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer

from integrations.events import Event, organization_group


class RedisStreamSink:
    def __init__(self, url: str, *, prefix: str, maxlen: int) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self.maxlen = maxlen

    def stream_of(self, organization: int) -> str:
        return f"{self.prefix}:{organization}"

    def __call__(self, events: list[Event]) -> None:
        """One round trip for the whole batch; raises when Redis cannot take it (the publisher
        keeps the batch for the next attempt)."""
        if not events:
            return
        pipeline = self.client.pipeline(transaction=False)
        for event in events:
            fields = {"event": json.dumps(event.as_json(), ensure_ascii=False)}
            pipeline.xadd(self.stream_of(event.organization), fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        pipeline.execute()


class ChannelLayerSink:
    """The /ws/events sockets: one channel layer message per organization per batch.

    The publisher's thread calls it. Where a socket of this process has connected, the sending
    runs on the server's event loop (`server_loop`, remembered by the socket): the in-memory
    layer's queues belong to that loop. Elsewhere (no socket here yet, a Celery worker) it runs on
    a loop of the sink's own, reused, so the Redis layer keeps one connection pool."""

    server_loop: asyncio.AbstractEventLoop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, events: list[Event]) -> None:
        layer = get_channel_layer()
        if layer is None or not events:
            return
        by_organization: dict[int, list[dict]] = defaultdict(list)
        for event in events:
            by_organization[event.organization].append(event.as_json())
        server_loop = ChannelLayerSink.server_loop
        if server_loop is not None and server_loop.is_running():
            asyncio.run_coroutine_threadsafe(self._send(layer, by_organization), server_loop).result(timeout=10)
        elif not isinstance(layer, InMemoryChannelLayer):  # in memory: no socket here, nobody to tell
            self.loop.run_until_complete(self._send(layer, by_organization))

    @staticmethod
    async def _send(layer, by_organization: dict[int, list[dict]]) -> None:
        for organization, events in by_organization.items():
            await layer.group_send(organization_group(organization), {"type": "integration.events", "events": events})


def remember_server_loop() -> None:
    """Called by a /ws/events socket as it connects, on the server's event loop."""
    ChannelLayerSink.server_loop = asyncio.get_running_loop()
