"""`/ws/dashboard` through the real ASGI application: who may open it, and that each
organization's browsers receive their own chargers' events and nobody else's (S14).

The services run in another thread (as the gateway runs them), so these tests use committed
rows (`transaction=True`) and `db()` for ORM work from the async test."""

import datetime as dt
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.services import SessionStart, SessionStop, close_session, open_session
from csms.asgi import application
from reports.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from sites.services import StatusReport, mark_connected, mark_disconnected, record_status_notification
from sites.sharing import share_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def db(function):
    return sync_to_async(function, thread_sensitive=True)


@pytest.fixture
def tenants():
    org_a, org_b = OrganizationFactory(slug="a"), OrganizationFactory(slug="b")
    charger_a = ChargerFactory(site__organization=org_a, charge_point_id="A-1")
    ConnectorFactory(charger=charger_a, connector_id=1, status="Available")
    charger_b = ChargerFactory(site__organization=org_b, charge_point_id="B-1")
    ConnectorFactory(charger=charger_b, connector_id=1, status="Available")
    operator_a, operator_b = UserFactory(is_staff=True), UserFactory(is_staff=True)
    MembershipFactory(user=operator_a, organization=org_a, role="operator")
    MembershipFactory(user=operator_b, organization=org_b, role="operator")
    return {"a": (operator_a, charger_a), "b": (operator_b, charger_b)}


def bearer(user) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {AccessToken.for_user(user)}".encode())


async def open_feed(*headers: tuple[bytes, bytes]) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, "/ws/dashboard", headers=list(headers))
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def report_status(charger_id: int, status: str, error_code: str = "NoError") -> None:
    report = StatusReport(connector_id=1, status=status, error_code=error_code, timestamp=timezone.now())
    await db(record_status_notification)(charger_id=charger_id, report=report, received_at=timezone.now())


async def test_status_changes_reach_only_the_organizations_browsers(tenants):
    (operator_a, charger_a), (operator_b, charger_b) = tenants["a"], tenants["b"]
    feed_a, connected_a, _ = await open_feed(bearer(operator_a))
    feed_b, connected_b, _ = await open_feed(bearer(operator_b))
    assert connected_a
    assert connected_b

    await report_status(charger_a.pk, "Charging")
    event = await feed_a.receive_json_from(timeout=5)
    assert event["type"] == "status"
    assert (event["charge_point_id"], event["connector_id"]) == ("A-1", 1)
    assert (event["previous_status"], event["status"], event["error_code"]) == ("Available", "Charging", "NoError")
    assert event["site_id"] == charger_a.site_id
    # The time in words in the site's time zone too (the page shows it; the ISO is for the script).
    from common.times import format_local

    moment = dt.datetime.fromisoformat(event["timestamp"])
    assert event["time"] == format_local(moment, charger_a.site.timezone)
    assert await feed_b.receive_nothing(timeout=0.3)

    await report_status(charger_b.pk, "Faulted", "GroundFailure")
    event = await feed_b.receive_json_from(timeout=5)
    assert (event["charge_point_id"], event["status"], event["error_code"]) == ("B-1", "Faulted", "GroundFailure")
    assert await feed_a.receive_nothing(timeout=0.3)
    await feed_a.disconnect()
    await feed_b.disconnect()


async def test_session_starts_and_stops_are_pushed(tenants):
    operator_a, charger_a = tenants["a"]
    feed, connected, _ = await open_feed(bearer(operator_a))
    assert connected
    started_at = timezone.now() - dt.timedelta(minutes=30)
    start = SessionStart(charger_a.pk, 1, "TAG-1", 1000, started_at=started_at, received_at=timezone.now())
    result = await db(open_session)(start=start)
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["charge_point_id"], event["connector_id"]) == ("session.started", "A-1", 1)

    stop = SessionStop(charger_a.pk, result.transaction_id, 8500, stopped_at=timezone.now(), received_at=timezone.now())
    await db(close_session)(stop=stop)
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["session_id"], event["energy_wh"]) == ("session.stopped", event["session_id"], 7500)
    await feed.disconnect()


async def test_a_charger_going_online_and_offline_is_pushed(tenants):
    operator_a, charger_a = tenants["a"]
    feed, connected, _ = await open_feed(bearer(operator_a))
    assert connected
    socket = uuid.uuid4()
    await db(mark_connected)(charger_id=charger_a.pk, connection_id=socket, channel_name="c", at=timezone.now())
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["charge_point_id"], event["online"]) == ("connection", "A-1", True)
    assert event["connector_statuses"] == ["Available"]
    await db(mark_disconnected)(charger_id=charger_a.pk, connection_id=socket, at=timezone.now())
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["online"]) == ("connection", False)
    await feed.disconnect()


async def test_a_partner_receives_the_events_of_a_shared_charger(tenants):
    _, charger_a = tenants["a"]

    def partner_with_share():
        partner_org = OrganizationFactory(slug="roaming", kind="partner")
        partner = UserFactory(is_staff=True)
        MembershipFactory(user=partner, organization=partner_org, role="partner")
        share_charger(charger=charger_a, partner=partner_org)
        return partner

    partner = await db(partner_with_share)()
    feed, connected, _ = await open_feed(bearer(partner))
    assert connected
    await report_status(charger_a.pk, "Preparing")
    assert (await feed.receive_json_from(timeout=5))["status"] == "Preparing"
    await feed.disconnect()


async def test_a_superuser_receives_every_organizations_events(tenants):
    _, charger_b = tenants["b"]
    admin = await db(UserFactory)(is_staff=True, is_superuser=True)
    feed, connected, _ = await open_feed(bearer(admin))
    assert connected
    await report_status(charger_b.pk, "Unavailable")
    assert (await feed.receive_json_from(timeout=5))["charge_point_id"] == "B-1"
    await feed.disconnect()


async def test_the_admin_session_opens_the_feed_from_our_own_pages(tenants):
    operator_a, _ = tenants["a"]
    cookie = await db(session_cookie)(operator_a)
    feed, connected, _ = await open_feed(cookie, ORIGIN)
    assert connected
    await feed.disconnect()


async def test_a_session_cookie_from_another_sites_page_is_refused(tenants):
    operator_a, _ = tenants["a"]
    cookie = await db(session_cookie)(operator_a)
    for origin in [(b"origin", b"https://evil.example"), None]:
        headers = [cookie] + ([origin] if origin else [])
        _, connected, code = await open_feed(*headers)
        assert not connected
        assert code == CLOSE_UNAUTHENTICATED


async def test_anonymous_and_bad_tokens_are_refused(tenants):
    for headers in [(ORIGIN,), ((b"authorization", b"Bearer not-a-token"),)]:
        _, connected, code = await open_feed(*headers)
        assert not connected
        assert code == CLOSE_UNAUTHENTICATED


async def test_a_user_without_an_organization_has_nothing_to_watch(tenants):
    loner = await db(UserFactory)(is_staff=True)
    _, connected, code = await open_feed(bearer(loner))
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_an_inactive_user_is_refused(tenants):
    operator_a, _ = tenants["a"]
    header = bearer(operator_a)

    def deactivate():
        operator_a.is_active = False
        operator_a.save(update_fields=["is_active"])

    await db(deactivate)()
    _, connected, code = await open_feed(header)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


async def test_a_2_0_1_stations_status_and_sessions_carry_the_evse(tenants):
    """EVSE 1 and EVSE 2 each have a connector 1: the events say which EVSE, and a session's event
    the station's own transaction id."""
    operator_a, charger_a = tenants["a"]

    def station():
        charger = ChargerFactory(site=charger_a.site, charge_point_id="A-201", ocpp_version="2.0.1")
        for evse_id in (1, 2):
            ConnectorFactory(charger=charger, evse_id=evse_id, connector_id=1, status="Available")
        return charger

    charger = await db(station)()
    feed, connected, _ = await open_feed(bearer(operator_a))
    assert connected
    report = StatusReport(evse_id=2, connector_id=1, status="Occupied", error_code="NoError", timestamp=timezone.now())
    await db(record_status_notification)(charger_id=charger.pk, report=report, received_at=timezone.now())
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["charge_point_id"], event["evse_id"], event["connector_id"]) == (
        "status", "A-201", 2, 1,
    )  # fmt: skip
    assert (event["previous_status"], event["status"]) == ("Available", "Occupied")

    start = SessionStart(charger.pk, 1, "TAG-201", 0, started_at=timezone.now(), received_at=timezone.now(),
                         evse_id=2, transaction_id="tx-201-a")  # fmt: skip
    await db(open_session)(start=start)
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["evse_id"], event["connector_id"], event["transaction_id"]) == (
        "session.started", 2, 1, "tx-201-a",
    )  # fmt: skip
    stop = SessionStop(charger.pk, "tx-201-a", 4000, stopped_at=timezone.now(), received_at=timezone.now())
    await db(close_session)(stop=stop)
    event = await feed.receive_json_from(timeout=5)
    assert (event["type"], event["evse_id"], event["transaction_id"], event["energy_wh"]) == (
        "session.stopped", 2, "tx-201-a", 4000,
    )  # fmt: skip
    await feed.disconnect()
