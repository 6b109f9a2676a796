"""Reservations through the partner API (issue 20): the admin's rules and records, ReserveNow and
CancelReservation through the one outbound port (requested via the API), the charger's answer
deciding the status, and another organization's chargers and tokens not existing."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.api import api_client_of, authenticated
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import Reservation, ReservationStatus
from charging.tests.factories import IdTokenFactory
from sites.commands import intent_of
from sites.commands.intents import CancelReservation, Reserve
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory
from sites.tests.helpers import answer_command, rejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(name="Mine", slug="mine")


@pytest.fixture
def operator(org):
    user = UserFactory()
    MembershipFactory(user=user, organization=org, role="operator")
    return user


@pytest.fixture
def api(operator):
    return authenticated(operator)


@pytest.fixture
def charger(org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    ConnectorFactory(charger=charger, connector_id=1)
    ConnectorFactory(charger=charger, connector_id=2)
    return charger


@pytest.fixture
def token(org):
    return IdTokenFactory(organization=org, id_tag="RES-TAG", parent_id_tag="GROUP")


def _later(hours: int = 1) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(microsecond=0)


def _body(token, **fields) -> dict:
    return {"charge_point_id": "CP-1", "connector_id": 1, "id_token": token.pk, "expires_at": _later().isoformat(),
            **fields}  # fmt: skip


# --- reserving ------------------------------------------------------------------------------


def test_an_operator_reserves_a_connector(api, charger, token, operator):
    expires = _later(2)
    response = api.post("/api/v1/reservations", _body(token, expires_at=expires.isoformat()), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    reservation = Reservation.objects.get()
    assert body["id"] == reservation.pk
    assert (body["charge_point_id"], body["connector_id"], body["id_tag"]) == ("CP-1", 1, "RES-TAG")
    assert body["status"] == ReservationStatus.REQUESTED  # until the charger answers
    command = Command.objects.get()
    assert (command.requested_via, command.requested_by) == (Command.Via.API, operator)
    assert intent_of(command) == Reserve(
        reservation_id=reservation.pk, id_token="RES-TAG", parent_id_token="GROUP", connector=1, expires_at=expires
    )
    audit = Activity.objects.filter(object_type="charging.reservation", verb="created").get()
    assert (audit.via, audit.actor, audit.organization_id) == ("api", operator, charger.site.organization_id)
    assert Activity.objects.filter(verb="sent command", via="api").count() == 1


def test_connector_zero_reserves_any_connector(api, charger, token):
    response = api.post("/api/v1/reservations", _body(token, connector_id=0), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["connector_id"] is None
    assert Reservation.objects.get().connector is None
    assert intent_of(Command.objects.get()).connector == 0


@pytest.mark.parametrize(
    ("outcome", "status", "answer"),
    [
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted"), ReservationStatus.ACCEPTED, "Accepted"),
        (rejected("Occupied"), ReservationStatus.REJECTED, "Occupied"),
    ],
)
def test_the_chargers_answer_decides_the_status(api, charger, token, outcome, status, answer):
    created = api.post("/api/v1/reservations", _body(token), format="json").json()
    answer_command(Command.objects.get(), outcome)
    shown = api.get(f"/api/v1/reservations/{created['id']}").json()
    assert (shown["status"], shown["charger_answer"]) == (status, answer)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expires_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"connector_id": 7}, "connector_id"),
        ({"connector_id": -1}, "connector_id"),
        ({"connector_id": 0, "evse_id": 1}, "connector_id"),
        ({"charge_point_id": "NOPE"}, "charge_point_id"),
        ({"expires_at": "tomorrow"}, "expires_at"),
    ],
)
def test_a_reservation_that_makes_no_sense_is_400(api, charger, token, fields, field):
    response = api.post("/api/v1/reservations", _body(token, **fields), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Reservation.objects.exists()
    assert not Command.objects.exists()


def test_a_past_expiry_says_so(api, charger, token):
    past = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    response = api.post("/api/v1/reservations", _body(token, expires_at=past), format="json")
    assert response.json()["errors"]["expires_at"] == ["The expiry must be in the future."]


def test_a_token_of_another_of_the_callers_organizations_is_refused(api, charger, operator):
    second = OrganizationFactory(name="Second", slug="second")
    MembershipFactory(user=operator, organization=second, role="operator")
    theirs = IdTokenFactory(organization=second, id_tag="SECOND")
    response = api.post("/api/v1/reservations", _body(theirs), format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["id_token"] == ["This id token belongs to another organization."]
    assert not Command.objects.exists()


def test_another_tenants_charger_and_token_do_not_exist(api, charger, token):
    other = OrganizationFactory(name="Theirs", slug="theirs")
    ConnectorFactory(charger=ChargerFactory(site=SiteFactory(organization=other), charge_point_id="THEIRS"))
    their_token = IdTokenFactory(organization=other, id_tag="THEIR-TAG")
    for body, field in (
        (_body(token, charge_point_id="THEIRS"), "charge_point_id"),
        (_body(their_token), "id_token"),
    ):
        response = api.post("/api/v1/reservations", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert "THEIR" not in response.content.decode()
    assert not Reservation.objects.exists()


def test_a_viewer_may_not_reserve(org, charger, token):
    viewer = UserFactory()
    MembershipFactory(user=viewer, organization=org, role="viewer")
    assert authenticated(viewer).post("/api/v1/reservations", _body(token), format="json").status_code == 403
    assert not Reservation.objects.exists()


def test_an_api_client_reserves_with_the_commands_scope_only(org, charger, token):
    assert (
        api_client_of(org, ["read", "tokens"]).post("/api/v1/reservations", _body(token), format="json").status_code
        == 403
    )
    response = api_client_of(org, ["commands"]).post("/api/v1/reservations", _body(token), format="json")
    assert response.status_code == 201, response.content
    assert Command.objects.get().requested_via == Command.Via.API


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_sends_cancel_reservation_and_the_charger_decides(api, charger, token):
    created = api.post("/api/v1/reservations", _body(token), format="json").json()
    answer_command(Command.objects.get())
    response = api.post(f"/api/v1/reservations/{created['id']}/cancel")
    assert response.status_code == 202, response.content
    command = Command.objects.get(pk=response.json()["id"])
    assert response.json()["status"] == command.status
    assert (command.requested_via, intent_of(command)) == (
        Command.Via.API,
        CancelReservation(reservation_id=created["id"]),
    )
    answer_command(command)
    assert Reservation.objects.get().status == ReservationStatus.CANCELLED
    again = api.post(f"/api/v1/reservations/{created['id']}/cancel")
    assert again.status_code == 409
    assert "no longer active" in again.json()["detail"]


@pytest.mark.parametrize("status", [ReservationStatus.USED, ReservationStatus.EXPIRED, ReservationStatus.REJECTED])
def test_a_reservation_no_longer_active_is_not_cancelled(api, charger, token, status):
    reservation = Reservation.objects.create(charger=charger, id_token=token, expires_at=_later(), status=status)
    assert api.post(f"/api/v1/reservations/{reservation.pk}/cancel").status_code == 409
    assert not Command.objects.exists()


def test_another_tenants_reservation_is_404_and_a_viewer_may_not_cancel(api, org, charger, token):
    other = OrganizationFactory(name="Theirs", slug="theirs")
    theirs = Reservation.objects.create(
        charger=ChargerFactory(site=SiteFactory(organization=other)),
        id_token=IdTokenFactory(organization=other),
        expires_at=_later(),
    )
    assert api.post(f"/api/v1/reservations/{theirs.pk}/cancel").status_code == 404
    mine = Reservation.objects.create(charger=charger, id_token=token, expires_at=_later())
    viewer = UserFactory()
    MembershipFactory(user=viewer, organization=org, role="viewer")
    assert authenticated(viewer).post(f"/api/v1/reservations/{mine.pk}/cancel").status_code == 403
    assert not Command.objects.exists()


# --- lists ----------------------------------------------------------------------------------


def test_reservations_filter_by_charger_and_status_and_order_by_expiry(api, org, charger, token):
    elsewhere = ChargerFactory(site=charger.site, charge_point_id="CP-2")
    late = Reservation.objects.create(charger=charger, id_token=token, expires_at=_later(5))
    early = Reservation.objects.create(
        charger=charger, id_token=token, expires_at=_later(1), status=ReservationStatus.ACCEPTED
    )
    Reservation.objects.create(charger=elsewhere, id_token=token, expires_at=_later(3))

    def ids(query: str) -> list[int]:
        return [row["id"] for row in api.get(f"/api/v1/reservations?{query}").json()["results"]]

    assert ids("charger__charge_point_id=CP-1&ordering=expires_at") == [early.pk, late.pk]
    assert ids("charger__charge_point_id=CP-1&ordering=-expires_at") == [late.pk, early.pk]
    assert ids("status=accepted") == [early.pk]
