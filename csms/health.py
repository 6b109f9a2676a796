"""GET /api/health: database, channel layer and Celery broker, each probed for real."""

import asyncio
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"status": "up" if self.ok else "down", "detail": self.detail}


def _failure(part: str, exc: BaseException) -> ProbeResult:
    # The exception text can carry host names or URLs: log it, answer only its class.
    logger.warning("health: %s is down: %r", part, exc)
    return ProbeResult(False, type(exc).__name__)


def _probe_database_sync() -> ProbeResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return ProbeResult(True, connection.vendor)


async def probe_database() -> ProbeResult:
    try:
        return await asyncio.wait_for(
            sync_to_async(_probe_database_sync, thread_sensitive=True)(), PROBE_TIMEOUT_SECONDS
        )
    except Exception as exc:  # any failure means "down", never a 500
        return _failure("database", exc)


async def probe_channel_layer() -> ProbeResult:
    """Send a message to a fresh channel and read it back through the layer."""
    layer = get_channel_layer()
    if layer is None:
        return ProbeResult(False, "not configured")
    try:
        # Both layers we configure (in memory, Redis) take a prefix; the stubs' base class does not.
        channel = await layer.new_channel("health.")  # type: ignore[call-arg]
        await asyncio.wait_for(layer.send(channel, {"type": "health.ping"}), PROBE_TIMEOUT_SECONDS)
        message = await asyncio.wait_for(layer.receive(channel), PROBE_TIMEOUT_SECONDS)
        if message.get("type") != "health.ping":
            return ProbeResult(False, "unexpected message")
    except Exception as exc:
        return _failure("channel layer", exc)
    return ProbeResult(True, type(layer).__name__)


def _probe_broker_sync() -> ProbeResult:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return ProbeResult(True, "eager (no broker server)")
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
        transport = conn.transport_cls
    return ProbeResult(True, str(transport))


async def probe_broker() -> ProbeResult:
    try:
        return await asyncio.wait_for(
            sync_to_async(_probe_broker_sync, thread_sensitive=False)(), PROBE_TIMEOUT_SECONDS + 1
        )
    except Exception as exc:
        return _failure("broker", exc)


@require_GET
async def health(request: HttpRequest) -> JsonResponse:
    database, channel_layer, broker = await asyncio.gather(probe_database(), probe_channel_layer(), probe_broker())
    checks = {"database": database, "channel_layer": channel_layer, "broker": broker}
    healthy = all(result.ok for result in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: result.as_dict() for name, result in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
