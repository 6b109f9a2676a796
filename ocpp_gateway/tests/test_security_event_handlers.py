"""SecurityEventNotification through the real consumer, the 1.6 security extension's (whitepaper
sec. 5.15) and 2.0.1's (A04): one handler and one service for both (ACCEPTANCE S13). Always
confirmed with the empty answer (A04.FR.03), stored with the charger's time and ours, the same
event sent again merged, the critical ones of the security event list marked."""

import datetime as dt

import pytest
import pytest_asyncio

from ocpp_gateway.tests.conftest import db, iso, now_s
from sites.models import SecurityEvent

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"


def _events(charger_pk: int) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(charger_id=charger_pk).order_by("pk"))


@pytest_asyncio.fixture(params=["ocpp1.6", OCPP201])
async def client(request, charger, open_client):
    """The Accepted `charger`, connected with each version."""
    connection = await open_client(charger, connect=False, subprotocols=[request.param])
    assert await connection.connect()
    assert connection.subprotocol == request.param
    return connection


async def test_a_reported_event_is_confirmed_and_kept_with_both_times(client, charger):
    at = now_s() - dt.timedelta(minutes=5)
    before = now_s()
    payload = {"type": "TamperDetectionActivated", "timestamp": iso(at), "techInfo": "cabinet door"}
    assert await client.result("SecurityEventNotification", payload) == {}
    [event] = await db(_events)(charger.pk)
    assert (event.kind, event.source, event.severity, event.critical) == (
        "TamperDetectionActivated", "charger", "critical", True,
    )  # fmt: skip
    assert (event.occurred_at, event.tech_info, event.repeats) == (at, "cabinet door", 1)
    assert event.timestamp >= before  # ours: when it arrived, not the charger's clock


async def test_the_same_event_sent_again_is_one_row_with_a_count(client, charger):
    payload = {"type": "SecurityLogWasCleared", "timestamp": iso(now_s())}
    for _ in range(3):
        assert await client.result("SecurityEventNotification", payload) == {}
    # Another time is another event.
    later = {**payload, "timestamp": iso(now_s() + dt.timedelta(seconds=1))}
    assert await client.result("SecurityEventNotification", later) == {}
    assert [(event.kind, event.repeats) for event in await db(_events)(charger.pk)] == [
        ("SecurityLogWasCleared", 3),
        ("SecurityLogWasCleared", 1),
    ]


async def test_an_unknown_type_is_confirmed_and_kept_as_a_warning(client, charger):
    """A vendor's own type (the field is free text in both schemas), without techInfo."""
    payload = {"type": "AcmeDoorSensorGlitch", "timestamp": iso(now_s())}
    assert await client.result("SecurityEventNotification", payload) == {}
    [event] = await db(_events)(charger.pk)
    assert (event.severity, event.critical, event.tech_info) == ("warning", False, "")


async def test_a_non_critical_event_of_the_list_is_not_raised(client, charger):
    payload = {"type": "InvalidMessages", "timestamp": iso(now_s())}
    assert await client.result("SecurityEventNotification", payload) == {}
    [event] = await db(_events)(charger.pk)
    assert (event.severity, event.critical) == ("warning", False)
