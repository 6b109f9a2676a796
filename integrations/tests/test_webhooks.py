"""Signed webhooks (issue 20), delivered to a real HTTP server on loopback: signatures that the
README's snippet verifies, order per subscription through failure and recovery, backoff, pause
after the failing window with the admins emailed, resend, and the URL rules of S20."""

import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from integrations import publisher, tasks, webhooks
from integrations.build import COMMAND, ONLINE, build_events
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import create_subscription, pause, resend, resume
from integrations.webhooks import WebhookSink, backoff, check_url, deliver_pending, prune_deliveries
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.drip = 0.0  # seconds between the bytes of the answer's headers
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                if receiver.drip:
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 40:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(receiver.drip)
                    return
                self.send_response(receiver.status)
                if 300 <= receiver.status < 400:
                    self.send_header("Location", "/elsewhere")
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


def readme_snippet():
    """The verification function of the README's "Webhooks" section, as documented."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("### Webhooks") :]
    code = section[section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verified"]


def verify(secret: str, headers: dict, body: bytes) -> bool:
    return readme_snippet()(secret, headers, body)


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
    assert (failed.status, failed.attempts, failed.response_code) == ("retrying", 1, 503)
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
    assert f"/integrations/webhooksubscription/{subscription.pk}/change/" in mail.outbox[0].body
    assert WebhookDelivery.objects.order_by("pk").first().status == "failed"
    asked = len(receiver.requests)
    deliver_pending(subscription.pk, now=timezone.now() + dt.timedelta(hours=2))
    assert len(receiver.requests) == asked  # paused: nothing sent
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert resume(subscription, by=admin) is True
    assert WebhookDelivery.objects.exclude(status="delivered").count() == 0  # sent on resuming


def test_resend_sends_the_same_event_again(org, charger, receiver, django_capture_on_commit_callbacks):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert len(resend([delivery], by=None)) == 1
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


def test_the_readme_snippet_refuses_an_old_timestamp_or_a_changed_body(org, charger, receiver):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    request = receiver.requests[0]
    assert verify(subscription.secret, request["headers"], request["body"])
    assert not verify(subscription.secret, request["headers"], request["body"].replace(b"reset", b"RESET"))
    old = int(time.time()) - 3600
    replayed = {**request["headers"], "X-CSMS-Timestamp": str(old)}
    replayed["X-CSMS-Signature"] = webhooks.signature(subscription.secret, old, request["body"])
    assert not verify(subscription.secret, replayed, request["body"])


def test_deliveries_wait_while_paused_and_go_out_in_order_on_resuming(
    org, charger, receiver, django_capture_on_commit_callbacks
):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 500
    first = events_for(charger, 1)
    WebhookSink()(first)
    with django_capture_on_commit_callbacks(execute=True):
        pause(subscription, reason="receiver down", by=UserFactory())
    head = WebhookDelivery.objects.get()
    assert head.status == "failed"  # its attempts were failing when it was paused
    later = events_for(charger, 2)
    WebhookSink()(later)  # made while paused: they wait
    assert len(receiver.requests) == 1
    assert list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed", "pending", "pending"
    ]  # fmt: skip
    assert tasks.retry_due_webhooks_task() == 0  # paused: the periodic retry leaves it alone
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        resume(subscription, by=None)
    assert receiver.event_ids() == [first[0].id, first[0].id] + [event.id for event in later]
    assert not mail.outbox  # paused by a person: nobody emailed


def test_the_periodic_retry_sends_what_is_due(org, charger, receiver):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 502
    WebhookSink()(events_for(charger, 2))
    assert tasks.retry_due_webhooks_task() == 0  # backing off: not due for 10 s
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    receiver.status = 200
    assert tasks.retry_due_webhooks_task() == 1
    assert list(subscription.deliveries.values_list("status", "attempts").order_by("pk")) == [
        ("delivered", 2), ("delivered", 1)
    ]  # fmt: skip


def test_one_worker_at_a_time_delivers_a_subscription(org, charger, receiver):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    held = timezone.now() + dt.timedelta(minutes=1)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(delivering_until=held)  # another worker
    WebhookSink()(events_for(charger, 2))
    assert receiver.requests == []
    subscription.refresh_from_db()
    assert subscription.delivering_until == held  # not released by us
    WebhookSubscription.objects.filter(pk=subscription.pk).update(delivering_until=timezone.now())  # it lapsed
    assert deliver_pending(subscription.pk, now=timezone.now() + dt.timedelta(seconds=1)) == 2
    subscription.refresh_from_db()
    assert subscription.delivering_until is None


def test_resending_a_waiting_delivery_tries_it_now_without_a_second_copy(
    org, charger, receiver, django_capture_on_commit_callbacks
):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 500
    WebhookSink()(events_for(charger, 1))
    receiver.status = 200
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert resend([delivery], by=None) == [delivery]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert WebhookDelivery.objects.count() == 1


def test_redirects_are_not_followed(org, charger, receiver):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    receiver.status = 302
    WebhookSink()(events_for(charger, 1))
    assert [request["path"] for request in receiver.requests] == ["/hooks/csms"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("retrying", 302)


def test_a_receiver_dripping_its_answer_gets_the_timeout_for_the_whole_exchange(org, charger, receiver, settings):
    settings.INTEGRATIONS_WEBHOOK_TIMEOUT = 0.5
    receiver.drip = 0.05  # each byte well within the socket's timeout; 3 s in all
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("retrying", None)
    assert "no complete answer within 0.5 s" in delivery.last_error
    assert delivery.latency_ms < 1500


def test_old_deliveries_are_pruned(org, charger, receiver, settings):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 2))
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("pk")[0].pk).update(
        created_at=timezone.now() - dt.timedelta(days=31)
    )
    assert prune_deliveries(now=timezone.now()) == 1
    assert WebhookDelivery.objects.count() == 1
    settings.INTEGRATIONS_WEBHOOK_RETENTION_DAYS = 0
    WebhookDelivery.objects.update(created_at=timezone.now() - dt.timedelta(days=400))
    assert prune_deliveries(now=timezone.now()) == 0


# --- addresses (S20), with the name resolution faked --------------------------------------------


@pytest.fixture
def dns(monkeypatch):
    """Host names resolve to what the test says (the real resolver for anything else)."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"])  # noqa: S104
def test_a_host_name_resolving_to_our_own_network_is_refused(dns, address):
    dns["hooks.example.com"] = address
    with pytest.raises(ValidationError, match="not allowed"):
        check_url("https://hooks.example.com/csms")


def test_a_public_host_name_is_accepted(dns):
    dns["hooks.example.com"] = "93.184.215.14"
    target = check_url("https://hooks.example.com:8443/csms?x=1")
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com", 8443, "/csms?x=1", "93.184.215.14"
    )  # fmt: skip


def test_a_name_that_moved_to_a_private_address_is_not_sent_to(org, charger, receiver, dns, settings):
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = False
    dns["hooks.example.com"] = "93.184.215.14"
    url = f"http://hooks.example.com:{receiver.server.server_address[1]}/hooks/csms"
    subscription = create_subscription(organization=org, url=url, event_types=[], by=None, via="api")
    dns["hooks.example.com"] = "127.0.0.1"  # DNS changed after saving (rebinding)
    WebhookSink()(events_for(charger, 1))
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.response_code) == ("retrying", None)
    assert "not allowed" in delivery.last_error


def test_the_request_goes_to_the_address_that_was_checked(org, charger, receiver, dns):
    dns["hooks.example.com"] = "127.0.0.1"  # allowed here (ALLOW_PRIVATE in the receiver fixture)
    port = receiver.server.server_address[1]
    create_subscription(organization=org, url=f"http://hooks.example.com:{port}/in", event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.com:{port}"
    assert receiver.requests[0]["path"] == "/in"


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


def test_the_admin_pauses_resumes_and_resends(client, org, charger, receiver, django_capture_on_commit_callbacks):
    _, admin = api_as(org)
    client.force_login(admin)
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    changelist = reverse("admin:integrations_webhooksubscription_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "pause_sending", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert not subscription.active
    WebhookSink()(events_for(charger, 1))
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "resume_sending", "_selected_action": [subscription.pk]})
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    deliveries = reverse("admin:integrations_webhookdelivery_changelist")
    listed = client.get(deliveries, {"status__exact": "delivered"})
    assert listed.status_code == 200
    assert delivery.event_type in listed.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(deliveries, {"action": "resend_deliveries", "_selected_action": [delivery.pk]})
    assert receiver.event_ids() == [delivery.event_id, delivery.event_id]


def test_a_viewer_may_not_resend_from_the_admin(client, org, charger, receiver):
    create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    _, viewer = api_as(org, role="viewer")
    client.force_login(viewer)
    deliveries = reverse("admin:integrations_webhookdelivery_changelist")
    assert client.get(deliveries).status_code == 200
    client.post(deliveries, {"action": "resend_deliveries", "_selected_action": [WebhookDelivery.objects.get().pk]})
    assert len(receiver.requests) == 1


def test_the_api_hides_other_organizations_deliveries_and_audits_a_delete(org, charger, receiver):
    from accounts.models import Activity

    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    WebhookSink()(events_for(charger, 1))
    delivery = WebhookDelivery.objects.get()
    other, _ = api_as(OrganizationFactory(slug="other"))
    base = f"/api/v1/webhook-subscriptions/{subscription.pk}"
    assert other.get(f"{base}/deliveries").status_code == 404
    assert other.post(f"{base}/deliveries/{delivery.pk}/resend").status_code == 404
    assert other.get("/api/v1/webhook-subscriptions").json()["results"] == []
    api, admin = api_as(org)
    assert api.delete(base).status_code == 204
    assert Activity.objects.filter(verb="deleted", actor=admin, object_id=str(subscription.pk)).exists()
    assert not WebhookDelivery.objects.exists()


def test_the_admin_adds_webhooks_only_where_the_role_allows(client, org, settings):
    settings.INTEGRATIONS_WEBHOOKS_ALLOW_PRIVATE = True
    _, user = api_as(org)  # admin of org
    watched = OrganizationFactory(slug="watched")
    MembershipFactory(user=user, organization=watched, role="viewer")
    client.force_login(user)
    url = reverse("admin:integrations_webhooksubscription_add")
    refused = client.post(url, {"organization": watched.pk, "url": "https://192.168.1.20/hook"})
    assert "organization" in refused.context["adminform"].form.errors
    assert not WebhookSubscription.objects.exists()
    client.post(url, {"organization": org.pk, "url": "https://192.168.1.20/hook"})
    assert WebhookSubscription.objects.get().organization == org


def test_the_api_refuses_another_organizations_charger_as_if_it_did_not_exist(org, receiver):
    api, _ = api_as(org)
    foreign = ChargerFactory(site=SiteFactory(organization=OrganizationFactory(slug="far")))
    refused = api.post(
        "/api/v1/webhook-subscriptions",
        {"organization": org.pk, "url": receiver.url, "charger": foreign.pk, "site": foreign.site_id},
        format="json",
    )
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert "does not exist" in str(errors["charger"])
    assert "does not exist" in str(errors["site"])


def test_a_new_url_is_tried_at_once_and_audited(client, org, charger, receiver, django_capture_on_commit_callbacks):
    from accounts.models import Activity

    _, admin = api_as(org)
    client.force_login(admin)
    subscription = create_subscription(organization=org, url=receiver.url + "-old", event_types=[], by=None, via="api")
    receiver.status = 404
    WebhookSink()(events_for(charger, 1))
    subscription.refresh_from_db()
    assert subscription.failing_since is not None
    receiver.status = 200
    change = reverse("admin:integrations_webhooksubscription_change", args=[subscription.pk])
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(change, {"name": "CMS", "url": receiver.url})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert [request["path"] for request in receiver.requests] == ["/hooks/csms-old", "/hooks/csms"]
    subscription.refresh_from_db()
    assert subscription.failing_since is None
    audit = Activity.objects.get(verb="changed", object_id=str(subscription.pk))
    assert audit.actor == admin
    assert audit.changes["url"] == [receiver.url + "-old", receiver.url]


def test_pausing_twice_records_and_emails_once(org, django_capture_on_commit_callbacks, receiver):
    from accounts.models import Activity

    MembershipFactory(user=UserFactory(email="boss@example.com"), organization=org, role="admin")
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    stale = WebhookSubscription.objects.get(pk=subscription.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert pause(subscription, reason="by the system") is True
        assert pause(stale, reason="again, from a stale copy") is False
    assert Activity.objects.filter(verb="paused").count() == 1
    assert len(mail.outbox) == 1
    assert resume(stale, by=None) is True
    assert resume(subscription, by=None) is False


def test_a_rotated_secret_signs_what_follows(org, charger, receiver, client):
    subscription = create_subscription(organization=org, url=receiver.url, event_types=[], by=None, via="api")
    viewer, _ = api_as(org, role="viewer")
    assert viewer.post(f"/api/v1/webhook-subscriptions/{subscription.pk}/rotate-secret").status_code == 403
    api, admin = api_as(org)
    answer = api.post(f"/api/v1/webhook-subscriptions/{subscription.pk}/rotate-secret")
    assert answer.status_code == 200
    secret = answer.json()["secret"]
    assert secret != subscription.secret
    WebhookSink()(events_for(charger, 1))
    assert verify(secret, receiver.requests[0]["headers"], receiver.requests[0]["body"])
    assert not verify(subscription.secret, receiver.requests[0]["headers"], receiver.requests[0]["body"])
    client.force_login(admin)
    changelist = reverse("admin:integrations_webhooksubscription_changelist")
    shown = client.post(changelist, {"action": "rotate_secrets", "_selected_action": [subscription.pk]}, follow=True)
    subscription.refresh_from_db()
    assert subscription.secret not in (secret, "")
    assert subscription.secret in " ".join(str(m) for m in shown.context["messages"])
