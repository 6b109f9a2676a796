"""Prometheus metrics at /api/metrics (issue 20).

What the gateway counts on its hot path (ocpp_gateway.stats: a dict increment per frame) is
copied into prometheus-client's metrics every METRICS_FLUSH_SECONDS by a thread of each process,
so a frame costs no label lookup and no lock of the client library. With
PROMETHEUS_MULTIPROC_DIR set (several server processes, Celery workers), every process writes
its values to files there and a scrape of any process adds them up; without it, a scrape shows
the process that answers. Figures that live in the database (chargers connected, the command
queue, active sessions) are read when scraped.

Who may scrape: a request with `Authorization: Bearer <METRICS_TOKEN>`, a platform
administrator signed in to the admin, or a request from an address in METRICS_ALLOWED_ADDRESSES
(loopback by default); anyone else gets 401."""

from __future__ import annotations

import atexit
import bisect
import hmac
import ipaddress
import logging
import os
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from celery import signals as celery_signals
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector

from charging.models import ChargingSession, SessionState
from common.broker import celery_queue_depth
from ocpp_gateway import message_log, stats
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled

logger = logging.getLogger(__name__)

_HOST = socket.gethostname().replace("_", "-")  # the client splits its file names at "_"


def process_identifier() -> str:
    """Names this process's files in PROMETHEUS_MULTIPROC_DIR: the host too, since containers
    sharing the directory (docker-compose's web, worker and beat) all run as pid 1."""
    return f"{_HOST}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Multiprocess mode: every metric below opens its file there as it is defined.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue(process_identifier)

FRAMES = Counter("csms_ocpp_frames", "OCPP-J frames in and out", ["version", "direction", "type", "action"])
CALL_ERRORS = Counter("csms_ocpp_callerrors", "CALLERRORs in and out, by error code", ["version", "direction", "code"])
CALL_SECONDS = Histogram(
    "csms_ocpp_call_duration_seconds",
    "A charger's CALL, from its arrival to our answer",
    ["version", "action"],
    buckets=stats.CALL_BUCKETS,
)
ROUND_ITEMS = Histogram(
    "csms_group_commit_round_items", "Messages written by one group-commit round",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)  # fmt: skip
ROUND_SECONDS = Histogram(
    "csms_group_commit_round_seconds", "How long a group-commit round took to write",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)  # fmt: skip
LOG_BACKLOG = Gauge(
    "csms_message_log_backlog", "OCPP frames waiting to be written to the message log", multiprocess_mode="livesum"
)
LOG_DROPPED = Counter("csms_message_log_dropped", "Message-log frames dropped while the database was slow or down")
COMMANDS = Counter("csms_commands_settled", "Commands to chargers that finished, by intent and outcome",
                   ["intent", "status"])  # fmt: skip
WEBHOOKS = Counter("csms_webhook_deliveries", "Webhook delivery attempts, by outcome", ["outcome"])
CELERY_TASKS = Counter("csms_celery_tasks", "Celery tasks run, by task and outcome", ["task", "outcome"])
SOCKETS = Gauge(
    "csms_process_chargers_connected", "Chargers' sockets open in this server process, by OCPP version",
    ["version"], multiprocess_mode="liveall",
)  # fmt: skip
HTTP_REQUESTS = Counter("csms_http_requests", "HTTP requests answered (admin, API, dashboard), by view and status",
                        ["method", "view", "status"])  # fmt: skip


class DatabaseCollector(Collector):
    """Figures read when scraped: a handful of indexed counts in the database (and whether it
    answered), and the Celery broker's queue."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            families = list(self._from_database())
        except DatabaseError as exc:
            logger.warning("metrics: the database did not answer: %r", exc)
            families = []
        yield from families
        yield GaugeMetricFamily(
            "csms_database_up", "1 when the database answered this scrape's queries, else 0", value=1 if families else 0
        )
        broker = GaugeMetricFamily(
            "csms_celery_queue_depth", "Celery tasks waiting in the broker's queue (absent without a broker)",
            labels=["queue"],
        )  # fmt: skip
        depth = celery_queue_depth(settings.METRICS_BROKER_TIMEOUT_SECONDS)
        if depth is not None:
            broker.add_metric([getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")], depth)
        yield broker

    def _from_database(self) -> Iterator[GaugeMetricFamily]:
        connected = GaugeMetricFamily("csms_chargers_connected", "Chargers online, by OCPP version", labels=["version"])
        online = Charger.objects.filter(is_online=True).values_list("ocpp_version").annotate(n=Count("pk")).order_by()
        for version, count in online:
            connected.add_metric([version], count)
        yield connected
        queue = GaugeMetricFamily("csms_command_queue", "Commands waiting (queued) or sent without an answer",
                                  labels=["status"])  # fmt: skip
        waiting = dict(
            Command.objects.filter(status__in=(CommandStatus.QUEUED, CommandStatus.SENT))
            .values_list("status").annotate(n=Count("pk")).order_by()
        )  # fmt: skip
        for status in (CommandStatus.QUEUED, CommandStatus.SENT):
            queue.add_metric([status], waiting.get(status, 0))
        yield queue
        active = ChargingSession.objects.filter(state=SessionState.ACTIVE).count()
        yield GaugeMetricFamily("csms_sessions_active", "Charging sessions in progress", value=active)

    def describe(self) -> list:
        return []  # collected at scrape only, never at registration


# --- copying the gateway's counts -------------------------------------------------------------


class Flusher:
    """Copies ocpp_gateway.stats into the metrics: differences of the cumulative counters, and
    the observations waiting."""

    def __init__(self) -> None:
        self._frames: Tally = Tally()
        self._errors: Tally = Tally()
        self._requests: Tally = Tally()
        self._call_buckets: Tally = Tally()
        self._call_seconds: dict[tuple[str, str], float] = {}
        self._dropped = 0
        self._lock = threading.Lock()  # the thread and a scrape may flush at once

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        frames = Tally(dict(stats.frames))  # dict() copies in one step: the event loop may be counting
        for labels, count in (frames - self._frames).items():
            FRAMES.labels(*labels).inc(count)
        self._frames = frames
        errors = Tally(dict(stats.call_errors))
        for error_labels, count in (errors - self._errors).items():
            CALL_ERRORS.labels(*error_labels).inc(count)
        self._errors = errors
        for version, count in dict(stats.sockets).items():
            SOCKETS.labels(version).set(count)
        self._copy_call_durations()
        rounds = stats.take(stats.commit_rounds)
        observe_many(ROUND_ITEMS, [items for items, _ in rounds])
        observe_many(ROUND_SECONDS, [seconds for _, seconds in rounds])
        requests = Tally(dict(_requests))
        for request_labels, count in (requests - self._requests).items():
            HTTP_REQUESTS.labels(*request_labels).inc(count)
        self._requests = requests
        LOG_BACKLOG.set(message_log.buffered_count())
        dropped = message_log.dropped_count()
        if dropped > self._dropped:
            LOG_DROPPED.inc(dropped - self._dropped)
            self._dropped = dropped

    def _copy_call_durations(self) -> None:
        """The gateway counts its CALLs into the histogram's own buckets (stats.CALL_BUCKETS are
        CALL_SECONDS's bounds): each bucket's new count is added at once, rather than one
        observe() per CALL. prometheus-client keeps a child's buckets as `_buckets` (one value
        each, not cumulative) and the sum as `_sum`; tests check the result against observe()."""
        buckets = Tally(dict(stats.call_buckets))
        seconds = dict(stats.call_seconds)
        for (version, action, index), count in (buckets - self._call_buckets).items():
            CALL_SECONDS.labels(version, action)._buckets[index].inc(count)
        for (version, action), total in seconds.items():
            added = total - self._call_seconds.get((version, action), 0.0)
            if added:
                CALL_SECONDS.labels(version, action)._sum.inc(added)
        self._call_buckets, self._call_seconds = buckets, seconds


def observe_many(histogram: Histogram, values: list[float]) -> None:
    """`histogram.observe(v)` for each value, with one increment per bucket rather than per value
    (in multiprocess mode each increment is a write to a file). Relies on the client's layout of
    a histogram (_upper_bounds, _buckets, _sum: prometheus-client 0.8 to 0.26); falls back to
    observe() without it."""
    if not values:
        return
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for value in values:
            histogram.observe(value)
        return
    per_bucket = Tally(bisect.bisect_left(bounds, value) for value in values)  # the first bound >= value
    for index, count in per_bucket.items():
        buckets[index].inc(count)
    total.inc(sum(values))


_flusher = Flusher()
_thread: threading.Thread | None = None


def flush() -> None:
    _flusher.flush()


def start() -> None:
    """The copying thread of this process (once)."""
    global _thread
    if _thread is not None or settings.METRICS_FLUSH_SECONDS <= 0:
        return
    _thread = threading.Thread(target=_run, name="metrics", daemon=True)
    _thread.start()


def _run() -> None:
    while True:
        time.sleep(settings.METRICS_FLUSH_SECONDS)
        try:
            flush()
        except Exception:
            logger.exception("metrics: copying the gateway's counts failed")


# --- what other parts report --------------------------------------------------------------------


def on_command_settled(sender, command, **kwargs) -> None:
    COMMANDS.labels(command.intent, command.status).inc()


def on_task_success(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(getattr(sender, "name", "?"), "success").inc()


def on_task_failure(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(getattr(sender, "name", "?"), "failure").inc()


def on_task_retry(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(getattr(sender, "name", "?"), "retry").inc()


def on_process_exit(**kwargs) -> None:
    """Multiprocess mode: this process's live gauges (sockets, message-log backlog) leave the
    sum when it ends (its counters stay: they are what it did)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(process_identifier())


def connect() -> None:
    """Listen to what is counted elsewhere, and start copying the gateway's counts."""
    command_settled.connect(on_command_settled, dispatch_uid="integrations.metrics.commands")
    celery_signals.task_success.connect(on_task_success, dispatch_uid="integrations.metrics.task_success")
    celery_signals.task_failure.connect(on_task_failure, dispatch_uid="integrations.metrics.task_failure")
    celery_signals.task_retry.connect(on_task_retry, dispatch_uid="integrations.metrics.task_retry")
    # A Celery pool's child leaves with os._exit (no atexit): its own signal.
    celery_signals.worker_process_shutdown.connect(on_process_exit, dispatch_uid="integrations.metrics.child_exit")
    atexit.register(on_process_exit)
    start()


# --- HTTP requests --------------------------------------------------------------------------------

# (method, view, status): counted by the middleware, copied into HTTP_REQUESTS by the flusher.
_requests: Tally = Tally()


def count_request(request: HttpRequest, response: HttpResponse) -> None:
    match = getattr(request, "resolver_match", None)
    # The view's name, never the path: a path carries ids (one series per charger).
    view = (match.view_name or "unnamed") if match is not None else "unmatched"
    _requests[(request.method or "", view, str(response.status_code))] += 1


class RequestCounter:
    """Middleware counting requests answered by Django (the charger's WebSocket never passes
    here). Sync and async: it adds no thread hop to an async stack."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        response = self.get_response(request)
        count_request(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = await self.get_response(request)
        count_request(request, response)
        return response


# --- the endpoint -------------------------------------------------------------------------------


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    # As bytes: compare_digest refuses a str with non-ASCII characters (a 500, not a 401).
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)  # the admin's session (platform administrators)
    if user is not None and user.is_active and user.is_superuser:
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in settings.METRICS_ALLOWED_ADDRESSES:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:  # a typo in the setting closes that entry, never the endpoint
            logger.warning("METRICS_ALLOWED_ADDRESSES: %r is not an address or a network; ignored", entry)
    return networks


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        MultiProcessCollector(collected)
    else:
        collected = CollectorRegistry()
        collected.register(_DefaultRegistry())
    collected.register(DatabaseCollector())
    return collected


class _DefaultRegistry(Collector):
    """This process's metrics (the default registry), inside a registry of the scrape's own."""

    def collect(self):
        return REGISTRY.collect()

    def describe(self) -> list:
        return []


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        answer = HttpResponse("Metrics: send Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                              content_type="text/plain")  # fmt: skip
        answer["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return answer
    flush()  # this process's latest counts in the answer
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
