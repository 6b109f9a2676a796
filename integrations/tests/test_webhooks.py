"""Signed webhooks (issue 20), delivered to a real HTTP server on loopback: signatures that the
README's snippet verifies, order per subscription through failure and recovery, backoff, pause
after the failing window with the admins emailed, resend, and the URL rules of S20."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from integrations import publisher
from integrations.build import COMMAND, ONLINE, build_events
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import (
    WebhookSink,
    backoff,
    check_url,
    create_subscription,
    deliver_pending,
    resend,
    resume,
)
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/csms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def event_ids(self) -> list[str]:
        return [json.loads(request["body"])["id"] for request in self.requests]


@pytest.fixture
def receiver(settings):
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_HTTP = True
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on loopback
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


@pytest.fixture
def charger(org):
    return ChargerFactory(site=SiteFactory(organization=org), charge_point_id="EV-1")


def events_for(charger, count: int):
    return build_events([(COMMAND, n, charger.pk, "reset", "accepted", AT) for n in range(count)])


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The README's verification snippet."""
    expected = hmac.new(secret.encode(), headers["X-CSMS-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-CSMS-Signature"])


def test_events_are_delivered_signed_in_order(org, charger, receiver):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    events = events_for(charger, 3)
    WebhookSink()(events)
    assert receiver.event_ids() == [event.id for event in events]
    first = receiver.requests[0]
    assert first["path"] == "/hooks/csms"
    assert first["headers"]["X-CSMS-Event"] == "command.settled"
    assert verify(subscription.secret, first["headers"], first["body"])
    assert not verify("another secret", first["headers"], first["body"])
    delivered = WebhookDelivery.objects.filter(status="delivered")
    assert delivered.count() == 3
    assert all(d.response_code == 200 and d.latency_ms is not None and d.attempts == 1 for d in delivered)


def test_only_the_subscribed_types_organization_and_charger(org, charger, receiver):
    other_charger = ChargerFactory(site=charger.site, charge_point_id="EV-2")
    create_subscription(
        organization=org, url=receiver.url, event_types=["charger.connected"], charger=charger, by=None, via="api"
    )
    outsider = OrganizationFactory(slug="outsider")
    WebhookSink()(
        build_events(
            [
                (ONLINE, charger.pk, True, AT),
                (ONLINE, other_charger.pk, True, AT),
                (COMMAND, 1, charger.pk, "x", "y", AT),
            ]
        )
        + build_events([(ONLINE, ChargerFactory(site=SiteFactory(organization=outsider)).pk, True, AT)])
    )
    bodies = [json.loads(request["body"]) for request in receiver.requests]
    assert [(body["type"], body["data"]["charge_point_id"]) for body in bodies] == [("charger.connected", "EV-1")]


def test_a_failure_holds_back_later_deliveries_until_the_receiver_recovers(org, charger, receiver):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 503
    events = events_for(charger, 3)
    WebhookSink()(events)
    assert len(receiver.requests) == 1  # the first failed; the others wait behind it
    failed = WebhookDelivery.objects.order_by("pk").first()
    assert (failed.status, failed.attempts, failed.response_code) == ("pending", 1, 503)
    assert failed.last_error == "The receiver answered 503."
    now = timezone.now()
    assert deliver_pending(failed.subscription_id, now=now) == 0  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    receiver.status = 204
    assert deliver_pending(failed.subscription_id, now=now + dt.timedelta(seconds=11)) == 3
    assert receiver.event_ids() == [events[0].id] + [event.id for event in events]


def test_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == dt.timedelta(hours=1)


def test_a_subscription_failing_for_a_day_is_paused_and_its_admins_told(
    org, charger, receiver, django_capture_on_commit_callbacks
):
    admin = UserFactory(email="boss@example.com")
    MembershipFactory(user=admin, organization=org, role="admin")
    MembershipFactory(user=UserFactory(email="viewer@example.com"), organization=org, role="viewer")
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 500
    WebhookSink()(events_for(charger, 2))
    subscription.refresh_from_db()
    assert subscription.failing_since is not None
    assert subscription.active
    WebhookSubscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now() - dt.timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        deliver_pending(subscription.pk, now=timezone.now() + dt.timedelta(minutes=5))
    subscription.refresh_from_db()
    assert not subscription.active
    assert "Every attempt failed since" in subscription.pause_reason
    assert [message.to for message in mail.outbox] == [["boss@example.com"]]
    asked = len(receiver.requests)
    deliver_pending(subscription.pk, now=timezone.now() + dt.timedelta(hours=2))
    assert len(receiver.requests) == asked  # paused: nothing sent
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert resume(subscription, by=admin) is True
    assert WebhookDelivery.objects.filter(status="pending").count() == 0  # sent on resuming


def test_resend_sends_the_same_event_again(org, charger, receiver, django_capture_on_commit_callbacks):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert resend([delivery], by=None) == 1
    assert receiver.event_ids() == [delivery.event_id, delivery.event_id]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "https"),
        ("https://127.0.0.1/hook", "not allowed"),
        ("https://10.0.0.1/hook", "not allowed"),
        ("https://169.254.169.254/latest", "not allowed"),
        ("https://[::1]/hook", "not allowed"),
        ("https://localhost/hook", "localhost"),
        ("https://user:pw@example.com/hook", "user name"),
    ],
)
def test_urls_of_our_own_network_or_without_tls_are_refused(url, reason):
    with pytest.raises(ValidationError, match=reason):
        check_url(url)


def test_a_name_that_resolves_to_loopback_is_refused_and_not_sent_at_delivery(org, charger, receiver, settings):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = False  # the rules tighten after saving
    WebhookSink()(events_for(charger, 1))
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.last_error.startswith("Not sent:")
    with pytest.raises(ValidationError):
        check_url(receiver.url.replace("127.0.0.1", "localhost.localdomain"))


def test_the_publisher_reaches_the_webhook_end_to_end(org, charger, receiver, settings):
    create_subscription(organization=org, url=receiver.url, event_types=["charger.connected"], by=None, via="api")
    publisher.configure(builder=build_events, sinks=[WebhookSink()], hand_off=None)
    try:
        publisher.record((ONLINE, charger.pk, True, AT))
        assert publisher.flush() == 1
    finally:
        publisher.configure(builder=None, sinks=[], hand_off=None)
    assert [json.loads(request["body"])["type"] for request in receiver.requests] == ["charger.connected"]


# --- the API and the admin ----------------------------------------------------------------------


def api_as(org, role="admin"):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=org, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def test_the_api_creates_a_webhook_and_shows_the_secret_once(org, receiver, settings):
    api, _ = api_as(org)
    created = api.post(
        "/api/v1/webhook-subscriptions",
        {"organization": org.pk, "url": receiver.url, "event_types": ["session.ended"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert len(created.json()["secret"]) > 30
    listed = api.get("/api/v1/webhook-subscriptions").json()["results"]
    assert "secret" not in listed[0]
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = False
    refused = api.post(
        "/api/v1/webhook-subscriptions", {"organization": org.pk, "url": "http://10.1.2.3/x"}, format="json"
    )
    assert refused.status_code == 400
    assert "url" in refused.json()["errors"]


def test_the_api_keeps_webhooks_in_their_organization(org, receiver):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    other, _ = api_as(OrganizationFactory(slug="other"))
    assert other.get(f"/api/v1/webhook-subscriptions/{subscription.pk}").status_code == 404
    viewer, _ = api_as(org, role="viewer")
    assert viewer.delete(f"/api/v1/webhook-subscriptions/{subscription.pk}").status_code == 403


def test_the_api_lists_and_resends_deliveries(org, charger, receiver, django_capture_on_commit_callbacks):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    api, _ = api_as(org)
    deliveries = api.get(f"/api/v1/webhook-subscriptions/{subscription.pk}/deliveries").json()["results"]
    assert [(d["status"], d["response_code"]) for d in deliveries] == [("delivered", 200)]
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/api/v1/webhook-subscriptions/{subscription.pk}/deliveries/{deliveries[0]['id']}/resend")
    assert again.status_code == 202
    assert len(receiver.requests) == 2


def test_the_admin_creates_a_webhook_and_refuses_a_private_url(client, org, settings):
    _, admin = api_as(org)
    client.force_login(admin)
    url = reverse("admin:integrations_webhooksubscription_add")
    refused = client.post(url, {"organization": org.pk, "url": "https://192.168.1.20/hook"})
    assert refused.status_code == 200
    assert "not allowed" in str(refused.context["adminform"].form.errors)
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = True
    saved = client.post(url, {"organization": org.pk, "url": "https://192.168.1.20/hook"}, follow=True)
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in " ".join(str(m) for m in saved.context["messages"])
