"""Where outbound events go. A Redis stream per organization (`<prefix>:<organization id>`),
capped near INTEGRATIONS_EVENT_STREAM_MAXLEN entries, each entry one field `event` holding the
event's JSON: a consumer in any language reads it with a consumer group (XREADGROUP / XACK)."""

from __future__ import annotations

import json

import redis

from integrations.events import Event


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
