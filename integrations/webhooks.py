"""Signed webhooks (issue 20): each outbound event (integrations.events) POSTed to the URLs an
organization subscribed, one delivery row per event and subscription.

- Signature: `X-CSMS-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the
  timestamp (Unix seconds) in `X-CSMS-Timestamp` and the exact body bytes; receivers recompute
  it and refuse old timestamps (replays).
- Order: a subscription's deliveries go out strictly in the order they were made. One worker at
  a time holds the subscription (`delivering_until`, taken with a conditional UPDATE, so no
  transaction stays open across HTTP calls); a failing delivery holds back the later ones.
- Retries: exponential backoff from WEBHOOK_FIRST_RETRY doubling up to WEBHOOK_MAX_RETRY; a
  subscription failing for INTEGRATIONS_WEBHOOK_PAUSE_AFTER hours is paused (its deliveries
  wait) and its organization's admins are emailed; resuming sends what waited.
- Addresses (S20): https only and no loopback, private, link-local, multicast or reserved address
  unless INTEGRATIONS_WEBHOOKS_ALLOW_HTTP / INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE say otherwise;
  checked when a subscription is saved and again before every attempt (the name is resolved,
  every address checked, and the connection made to the address checked, never re-resolved).
  Redirects are not followed."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from integrations.events import Event
from integrations.metrics import WEBHOOKS
from integrations.models import WebhookDelivery, WebhookSubscription
from sites.validators import refuse_internal_address

logger = logging.getLogger(__name__)

WEBHOOK_FIRST_RETRY = dt.timedelta(seconds=10)
WEBHOOK_MAX_RETRY = dt.timedelta(hours=1)
HOLD_FOR = dt.timedelta(minutes=2)  # a worker's hold on a subscription, renewed per delivery
MAX_PER_RUN = 200
USER_AGENT = "csms-webhooks/1"
Status = WebhookDelivery.Status


# --- URLs (S20) ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the address checked, connected to as is


def check_url(url: str) -> Target:
    """The URL's parts and the address to connect to; ValidationError with the reason when the
    URL may not be used (scheme, host, an address of our own network)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.INTEGRATIONS_WEBHOOKS_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        raise ValidationError("Webhook URLs must use https.", code="scheme")
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.password:
        raise ValidationError("The URL needs a host, and no user name or password in it.", code="invalid")
    port = port or (443 if scheme == "https" else 80)
    address = _resolve(host, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, path=path, address=address)


def _resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValidationError("The URL's host name does not resolve.", code="dns") from None
    addresses = [str(info[4][0]) for info in infos]
    if not settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            raise ValidationError("URLs to localhost are not allowed.", code="private")
        for address in addresses:
            refuse_internal_address(ipaddress.ip_address(address.split("%")[0]))
    return addresses[0]


# --- signing ------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode_body(event_json: dict) -> bytes:
    return json.dumps(event_json, ensure_ascii=False, separators=(",", ":")).encode()


# --- the sink: events to deliveries ------------------------------------------------------------


_Subscription = tuple[int, int, frozenset[str], int | None, str | None, bool]


class WebhookSink:
    """Makes the deliveries of a batch of events (one INSERT) and asks a worker to send them.
    The subscriptions are read at most every SUBSCRIPTIONS_TTL seconds (a new one gets events
    within that time). A paused subscription's deliveries are made too: they wait for resuming
    (pruned after INTEGRATIONS_WEBHOOK_RETENTION_DAYS like the others)."""

    SUBSCRIPTIONS_TTL = 5.0

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._read_at = -1e9

    def _all(self) -> list[_Subscription]:
        if time.monotonic() - self._read_at > self.SUBSCRIPTIONS_TTL:
            rows = WebhookSubscription.objects.values_list(
                "pk", "organization_id", "event_types", "site_id", "charger__charge_point_id", "active"
            )
            self._subscriptions = [
                (pk, org, frozenset(types or ()), site, cp, active) for pk, org, types, site, cp, active in rows
            ]
            self._read_at = time.monotonic()
        return self._subscriptions

    def idle(self) -> bool:
        """No subscription: the publisher need not even build the events for it."""
        return not self._all()

    def __call__(self, events: list[Event]) -> None:
        subscriptions = self._all()
        if not events or not subscriptions:
            return
        deliveries = [
            WebhookDelivery(subscription_id=pk, event_id=event.id, event_type=event.type, body=event.as_json())
            for event in events
            for pk, organization, types, site_id, charge_point_id, _ in subscriptions
            if organization == event.organization
            and (not types or event.type in types)
            and (site_id is None or event.data.get("site_id") == site_id)
            and (charge_point_id is None or event.data.get("charge_point_id") == charge_point_id)
        ]
        if not deliveries:
            return
        WebhookDelivery.objects.bulk_create(deliveries)
        active = {pk for pk, *_, is_active in subscriptions if is_active}
        for subscription_id in sorted({delivery.subscription_id for delivery in deliveries} & active):
            send_later(subscription_id)


def send_later(subscription_id: int, *, countdown: float = 0) -> None:
    """Ask a worker to deliver the subscription (after `countdown` seconds). Without a broker a
    countdown cannot be waited for: the periodic retry (retry_due_webhooks_task) comes back."""
    from integrations.tasks import deliver_webhooks_task  # the tasks module imports this one

    if countdown <= 0:
        deliver_webhooks_task.delay(subscription_id)
    elif not deliver_webhooks_task.app.conf.task_always_eager:
        deliver_webhooks_task.apply_async((subscription_id,), countdown=countdown)


# --- delivering ---------------------------------------------------------------------------------


def deliver_pending(subscription_id: int, *, now: dt.datetime | None = None) -> int:
    """Send the subscription's pending deliveries in order, until one fails or is not due yet;
    returns how many were delivered. Does nothing while another worker holds the subscription."""
    now = now or timezone.now()
    hold = _take(subscription_id, now)
    if hold is None:
        return 0
    delivered = 0
    try:
        subscription = WebhookSubscription.objects.get(pk=subscription_id)
        while delivered < MAX_PER_RUN:
            delivery = subscription.deliveries.filter(status__in=WebhookDelivery.WAITING).order_by("pk").first()
            if delivery is None:
                return delivered
            if delivery.next_attempt_at > now:
                # Backing off: the failed attempt asked for a task at its next attempt (and the
                # periodic retry comes back); one more delayed task per new event would pile up.
                return delivered
            if not _attempt(subscription, delivery, now):
                return delivered
            delivered += 1
            now = timezone.now()
            renewed = _take(subscription_id, now, held=hold)
            if renewed is None:
                return delivered  # paused meanwhile, or held too long and taken by another worker
            hold = renewed
        send_later(subscription_id)  # more than one run's worth: the rest in the next task
        return delivered
    finally:  # released unless another worker holds it now
        WebhookSubscription.objects.filter(pk=subscription_id, delivering_until=hold).update(delivering_until=None)


def _take(subscription_id: int, now: dt.datetime, *, held: dt.datetime | None = None) -> dt.datetime | None:
    """Hold the (active) subscription until now + HOLD_FOR, when no other worker holds it (or
    renew our own `held` hold); returns the hold (its end: our token), None when not ours."""
    chosen = WebhookSubscription.objects.filter(pk=subscription_id, active=True)
    if held is None:
        chosen = chosen.filter(Q(delivering_until__isnull=True) | Q(delivering_until__lt=now))
    else:
        chosen = chosen.filter(delivering_until=held)
    until = now + HOLD_FOR
    if held is not None and until == held:
        until += dt.timedelta(microseconds=1)
    return until if chosen.update(delivering_until=until) == 1 else None


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery, now: dt.datetime) -> bool:
    """One POST; records the outcome; True when delivered."""
    body = encode_body(delivery.body)
    timestamp = int(time.time())
    started = time.monotonic()
    code: int | None = None
    error = ""
    try:
        target = check_url(subscription.url)
        code = _post(target, body, _headers(subscription, delivery, timestamp, body))
        if not 200 <= code < 300:
            error = f"The receiver answered {code}."
    except ValidationError as refused:
        error = f"Not sent: {' '.join(refused.messages)}"
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}"[:255]
    latency = int((time.monotonic() - started) * 1000)
    WEBHOOKS.labels("delivered" if not error else "refused" if code is None and "Not sent" in error else "failed").inc()
    delivery.attempts += 1
    delivery.response_code = code
    delivery.latency_ms = latency
    if not error:
        delivery.status = Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["attempts", "response_code", "latency_ms", "status", "delivered_at", "last_error"])
        if subscription.failing_since is not None:
            subscription.failing_since = None
            subscription.save(update_fields=["failing_since"])
        return True
    delivery.status = Status.RETRYING
    delivery.last_error = error[:255]
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(update_fields=["attempts", "response_code", "latency_ms", "status", "last_error", "next_attempt_at"])
    logger.info("webhook %s: delivery %s failed: %s", subscription.pk, delivery.pk, error)
    _note_failure(subscription, now)
    if subscription.active:
        send_later(subscription.pk, countdown=backoff(delivery.attempts).total_seconds())
    return False


def backoff(attempts: int) -> dt.timedelta:
    """10 s, 20 s, 40 s, ... up to an hour between attempts."""
    return min(WEBHOOK_FIRST_RETRY * (2 ** max(0, attempts - 1)), WEBHOOK_MAX_RETRY)


def _headers(subscription: WebhookSubscription, delivery: WebhookDelivery, timestamp: int, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CSMS-Event": delivery.event_type,
        "X-CSMS-Delivery": str(delivery.pk),
        "X-CSMS-Event-Id": delivery.event_id,
        "X-CSMS-Timestamp": str(timestamp),
        "X-CSMS-Signature": signature(subscription.secret, timestamp, body),
    }


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def _post(target: Target, body: bytes, headers: dict) -> int:
    """POST and return the answer's status. The whole exchange gets INTEGRATIONS_WEBHOOK_TIMEOUT
    seconds (a socket timeout alone bounds each read, not a receiver that drips its answer a
    byte at a time): then the socket is shut and the attempt fails."""
    timeout = settings.INTEGRATIONS_WEBHOOK_TIMEOUT
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    cut = threading.Event()
    deadline = threading.Timer(timeout, _cut, (connection, cut))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read(64 * 1024)  # a receiver's answer is not ours to keep
        return response.status
    except (OSError, http.client.HTTPException) as failure:
        if cut.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g} s") from failure
        raise
    finally:
        deadline.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def _note_failure(subscription: WebhookSubscription, now: dt.datetime) -> None:
    if subscription.failing_since is None:
        subscription.failing_since = now
        subscription.save(update_fields=["failing_since"])
        return
    if now - subscription.failing_since >= dt.timedelta(hours=settings.INTEGRATIONS_WEBHOOK_PAUSE_AFTER):
        from integrations.services import pause  # services import this module: sending and signing

        pause(subscription, reason=f"Every attempt failed since {subscription.failing_since:%Y-%m-%d %H:%M} UTC.")


def due_subscription_ids(now: dt.datetime) -> list[int]:
    """Active subscriptions whose first waiting delivery (the one that goes next: order) is due,
    and no worker on them."""
    head = (
        WebhookDelivery.objects.filter(subscription=OuterRef("pk"), status__in=WebhookDelivery.WAITING)
        .order_by("pk")
        .values("next_attempt_at")[:1]
    )
    return list(
        WebhookSubscription.objects.filter(Q(delivering_until__isnull=True) | Q(delivering_until__lt=now), active=True)
        .annotate(head_at=Subquery(head))
        .filter(head_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def prune_deliveries(*, now: dt.datetime) -> int:
    """Delete the deliveries older than INTEGRATIONS_WEBHOOK_RETENTION_DAYS (0 keeps them),
    whatever their status: a subscription paused for that long loses its oldest waiting events.
    Returns how many were deleted."""
    days = settings.INTEGRATIONS_WEBHOOK_RETENTION_DAYS
    if days <= 0:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=now - dt.timedelta(days=days)).delete()
    return deleted
