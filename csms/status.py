"""GET /api/v1/status, for platform administrators: what is running and how loaded it is.

/api/health answers a load balancer (up or down, no login); this answers an operator: the
version, how long this process has run, the chargers connected to each server process (a
process is known by its channel layer prefix), what waits in the queues (commands for
chargers, this process's message-log buffer, the Celery broker's queue) and the same probes as
/api/health."""

import time
from collections import Counter
from datetime import UTC, datetime

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.broker import celery_queue_depth
from csms.health import PROBE_TIMEOUT_SECONDS, probe_broker, probe_channel_layer, probe_database
from ocpp_gateway import message_log
from sites.models import Charger, Command, CommandStatus

STARTED_AT = datetime.now(UTC)
_STARTED_MONOTONIC = time.monotonic()


class IsPlatformAdmin(BasePermission):
    message = "Platform administrators only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_active and request.user.is_superuser)


def server_process_of(channel_name: str) -> str:
    """The process holding a charger's socket: Channels names a process's channels
    `specific.<process prefix>!<channel>` (Redis and in-memory layers alike)."""
    return channel_name.partition("!")[0] or "unknown"


def connected_chargers() -> dict:
    online = Charger.objects.filter(is_online=True)
    by_process = Counter(server_process_of(name) for name in online.values_list("channel_name", flat=True))
    by_version = dict(online.values_list("ocpp_version").annotate(count=Count("pk")).order_by())
    return {
        "connected": sum(by_process.values()),
        "by_version": by_version,
        "by_process": [{"process": process, "connected": count} for process, count in sorted(by_process.items())],
    }


def queue_depths() -> dict:
    commands = dict(
        Command.objects.filter(status__in=[CommandStatus.QUEUED, CommandStatus.SENT])
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {
        "commands_queued": commands.get(CommandStatus.QUEUED, 0),
        "commands_sent_unanswered": commands.get(CommandStatus.SENT, 0),
        "message_log_buffered_here": message_log.buffered_count(),
        "message_log_dropped_here": message_log.dropped_count(),
        "celery_tasks_waiting": celery_queue_depth(PROBE_TIMEOUT_SECONDS),
    }


async def _probes() -> dict:
    return {
        "database": (await probe_database()).as_dict(),
        "channel_layer": (await probe_channel_layer()).as_dict(),
        "broker": (await probe_broker()).as_dict(),
    }


class StatusView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The system's state (platform administrators)")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "version": settings.CSMS_VERSION,
                "started_at": STARTED_AT.isoformat(),
                "uptime_seconds": round(time.monotonic() - _STARTED_MONOTONIC),
                "chargers": connected_chargers(),
                "queues": queue_depths(),
                "checks": async_to_sync(_probes)(),
            }
        )
