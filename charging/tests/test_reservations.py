import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity
from charging.models import Reservation, ReservationStatus
from charging.reservations import cancel, expire_reservations, reserve
from charging.services import SessionStart, open_session
from charging.tests.factories import IdTokenFactory
from sites.commands import expire_commands, intent_of
from sites.commands.intents import CancelReservation, Reserve
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import Command
from sites.tests.factories import ConnectorFactory
from sites.tests.helpers import answer_command, rejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    connector = ConnectorFactory(connector_id=1)
    token = IdTokenFactory(organization=connector.charger.site.organization, id_tag="RES-TAG", parent_id_tag="GROUP")
    return connector, token


def test_reserve_sends_reserve_now_with_the_reservation_id(setup):
    connector, token = setup
    expires = timezone.now() + dt.timedelta(minutes=30)
    reservation = reserve(charger=connector.charger, connector=connector, id_token=token, expires_at=expires)
    assert intent_of(Command.objects.get()) == Reserve(
        reservation_id=reservation.pk, id_token="RES-TAG", parent_id_token="GROUP", connector=1, expires_at=expires
    )  # its 1.6 form: ocpp_gateway/tests/test_codec_v16.py
    assert reservation.status == ReservationStatus.REQUESTED


@pytest.mark.parametrize(
    ("outcome", "expected", "answer"),
    [
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted"), ReservationStatus.ACCEPTED, "Accepted"),
        (rejected("Occupied"), ReservationStatus.REJECTED, "Occupied"),
        (
            Outcome(status=OutcomeStatus.NOT_SUPPORTED, detail="NotSupported", error_code="NotSupported"),
            ReservationStatus.FAILED,
            "",
        ),
        (Outcome.timed_out(), ReservationStatus.FAILED, ""),
    ],
)
def test_the_charger_answer_decides_the_reservation(setup, outcome, expected, answer):
    connector, token = setup
    reservation = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    answer_command(Command.objects.get(), outcome)
    reservation.refresh_from_db()
    assert (reservation.status, reservation.charger_answer) == (expected, answer)


def test_a_start_carrying_the_reservation_id_uses_it(setup):
    connector, token = setup
    reservation = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    answer_command(Command.objects.get())
    result = open_session(
        start=SessionStart(
            charger_id=connector.charger_id,
            connector_id=1,
            token="RES-TAG",
            meter_start_wh=0,
            started_at=timezone.now(),
            received_at=timezone.now(),
            reservation_id=reservation.pk,
        )
    )
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.USED
    assert reservation.session.transaction_id == result.transaction_id


def test_cancel_accepted_cancels(setup):
    connector, token = setup
    reservation = reserve(
        charger=connector.charger, connector=None, id_token=token, expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert intent_of(Command.objects.get()).connector == 0
    answer_command(Command.objects.get())
    command = cancel(reservation=reservation)
    assert intent_of(command) == CancelReservation(reservation_id=reservation.pk)
    answer_command(command)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED


def test_expired_reservations_and_expired_reserve_commands_are_swept(setup, django_capture_on_commit_callbacks):
    connector, token = setup
    reservation = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    later = timezone.now() + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):  # command_settled is sent on commit
        expire_commands(now=later)  # the charger never came back
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.FAILED
    other = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    Reservation.objects.filter(pk=other.pk).update(status=ReservationStatus.ACCEPTED)
    assert expire_reservations(now=later) == 1
    other.refresh_from_db()
    assert other.status == ReservationStatus.EXPIRED


def test_operator_reserves_from_the_admin(admin_client, setup):
    connector, token = setup
    expires = (timezone.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    date, time = expires.split(" ")
    response = admin_client.post(
        reverse("admin:charging_reservation_add"),
        {
            "charger": connector.charger_id,
            "connector": connector.pk,
            "id_token": token.pk,
            "expires_at_0": date,
            "expires_at_1": time,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Command.objects.get().intent == Reserve.kind


def test_admin_refuses_a_token_of_another_organization(admin_client, setup):
    connector, _ = setup
    foreign = IdTokenFactory()
    expires = (timezone.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S").split(" ")
    response = admin_client.post(
        reverse("admin:charging_reservation_add"),
        {
            "charger": connector.charger_id,
            "id_token": foreign.pk,
            "expires_at_0": expires[0],
            "expires_at_1": expires[1],
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["id_token"]
    assert not Command.objects.exists()


def test_a_connector_the_port_does_not_count_as_the_chargers_is_a_form_error(admin_client, setup):
    """The outbound port knows 1.6 connectors only (no EVSE): refused on the form, not on save."""
    connector, token = setup
    evse_connector = ConnectorFactory(charger=connector.charger, connector_id=5, evse_id=1)
    date, time = (timezone.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S").split(" ")
    response = admin_client.post(
        reverse("admin:charging_reservation_add"),
        {
            "charger": connector.charger_id,
            "connector": evse_connector.pk,
            "id_token": token.pk,
            "expires_at_0": date,
            "expires_at_1": time,
        },
    )
    assert response.status_code == 200
    # The reservation names the connector's EVSE, which a 1.6 charger cannot carry.
    assert "OCPP 1.6 has no EVSEs" in str(response.context["adminform"].form.errors["connector"])
    assert not Command.objects.exists()


def test_the_service_refuses_what_the_admin_form_refuses_and_audits_by_channel(setup):
    connector, token = setup
    past = timezone.now() - dt.timedelta(minutes=1)
    with pytest.raises(ValidationError) as refused:
        reserve(charger=connector.charger, connector=connector, id_token=IdTokenFactory(), expires_at=past)
    assert set(refused.value.message_dict) == {"id_token", "expires_at"}
    assert not Reservation.objects.exists()
    reservation = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    assert Command.objects.get().requested_via == Command.Via.ADMIN  # the default: the admin's call
    assert Activity.objects.get(verb="created", object_id=str(reservation.pk)).via == "admin"
    cancel(reservation=reservation, via=Command.Via.API)
    assert Command.objects.latest("pk").requested_via == Command.Via.API
