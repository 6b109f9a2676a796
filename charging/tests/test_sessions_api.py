"""Sessions and their prices through the API: filtered by the charger's id and by time, ordered
by any of their times, only the caller's."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from billing.models import SessionCost
from charging.tests.factories import ChargingSessionFactory
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def fleet():
    one = ChargerFactory(charge_point_id="LIST-1")
    two = ChargerFactory(charge_point_id="LIST-2", site=one.site)
    stranger = ChargerFactory(charge_point_id="LIST-3")  # another organization's
    sessions = {
        "early on one": ChargingSessionFactory(connector=ConnectorFactory(charger=one), started_at=AT),
        "late on one": ChargingSessionFactory(
            connector=ConnectorFactory(charger=one, connector_id=2), started_at=AT + dt.timedelta(days=2)
        ),
        "on two": ChargingSessionFactory(connector=ConnectorFactory(charger=two), started_at=AT + dt.timedelta(days=1)),
        "elsewhere": ChargingSessionFactory(connector=ConnectorFactory(charger=stranger), started_at=AT),
    }
    for hours, name in ((5, "early on one"), (1, "late on one"), (3, "on two")):
        session = sessions[name]
        type(session).objects.filter(pk=session.pk).update(stopped_at=session.started_at + dt.timedelta(hours=hours))
        SessionCost.objects.create(session=session, currency="EUR", net=hours, vat=0, total=hours)
    user = UserFactory()
    MembershipFactory(user=user, organization=one.site.organization, role="viewer")
    client = APIClient()
    client.force_authenticate(user)
    return client, {name: session.pk for name, session in sessions.items()}


def _ids(client, path: str, **query) -> list[int]:
    response = client.get(path, query)
    assert response.status_code == 200, response.json()
    return [row["id"] if "id" in row else row["session"] for row in response.json()["results"]]


def test_sessions_filter_by_charger_and_start_and_order_by_their_times(fleet):
    client, ids = fleet
    assert _ids(client, "/api/v1/sessions") == [ids["late on one"], ids["on two"], ids["early on one"]]
    assert _ids(client, "/api/v1/sessions", charge_point_id="LIST-1") == [ids["late on one"], ids["early on one"]]
    assert _ids(client, "/api/v1/sessions", charge_point_id="LIST-3") == []  # not the caller's
    assert _ids(client, "/api/v1/sessions", since="2026-03-02T00:00:00Z", until="2026-03-03T00:00:00Z") == [
        ids["on two"]
    ]
    # Stopped: early on one at 13:00 on the 1st, on two at 11:00 on the 2nd, late on one at 09:00 on the 3rd.
    assert _ids(client, "/api/v1/sessions", ordering="-stopped_at") == [
        ids["late on one"], ids["on two"], ids["early on one"],
    ]  # fmt: skip
    assert client.get("/api/v1/sessions", {"since": "yesterday"}).status_code == 400


def test_session_prices_filter_by_charger(fleet):
    client, ids = fleet
    assert sorted(_ids(client, "/api/v1/session-costs", charge_point_id="LIST-1")) == sorted(
        [ids["early on one"], ids["late on one"]]
    )
    assert _ids(client, "/api/v1/session-costs", ordering="-total") == [
        ids["early on one"],
        ids["on two"],
        ids["late on one"],
    ]
