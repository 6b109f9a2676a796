"""The charger page with sessions in progress (issue 19): charging supplies each connector's running
session and billing its cost so far, through the sources sites.console registers; stopping it
from its card names its transaction and records the operator's reason."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from billing.models import Tariff, TariffAssignment
from charging.models import MeterValue
from charging.tests.factories import ChargingSessionFactory
from sites.commands import intent_of
from sites.commands.intents import RemoteStop
from sites.console import charger_console
from sites.models import Command, ConnectorStatus
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def charging():
    charger = ChargerFactory(is_online=True)
    first = ConnectorFactory(charger=charger, connector_id=1, status=ConnectorStatus.CHARGING)
    second = ConnectorFactory(charger=charger, connector_id=2, status=ConnectorStatus.CHARGING)
    started = timezone.now() - dt.timedelta(minutes=30)
    sessions = [
        ChargingSessionFactory(
            connector=connector, started_at=started, meter_start_wh=1000, energy_wh=energy, last_power_w=Decimal(power),
            id_tag=tag,
        )
        for connector, energy, power, tag in ((first, 5500, "11000", "DRIVER1"), (second, 2000, "7400", "DRIVER2"))
    ]  # fmt: skip
    for session in sessions:
        MeterValue.objects.create(
            session=session, charger=charger, connector=session.connector, timestamp=timezone.now(),
            raw_value=str(1000 + session.energy_wh), value=1000 + session.energy_wh,
        )  # fmt: skip
    organization = charger.site.organization
    tariff = Tariff.objects.create(organization=organization, name="Standard", price_per_kwh=Decimal("0.40"))
    TariffAssignment.objects.create(tariff=tariff, organization=organization, valid_from=started - dt.timedelta(days=1))
    return charger, sessions


def test_cards_show_the_running_session_and_its_cost_so_far(charging, django_assert_max_num_queries):
    charger, sessions = charging
    # connectors, sessions, tariff assignments, their bands, meter values, 2 x connection events,
    # commands, security events
    with django_assert_max_num_queries(9):
        console = charger_console(charger)
    first = console.cards[0].session
    assert first is not None
    assert (first.session_id, first.id_token, first.energy_kwh, first.power_kw) == (
        sessions[0].pk, "DRIVER1", Decimal("5.500"), Decimal("11.00"),
    )  # fmt: skip
    assert first.transaction_id == str(sessions[0].transaction_id)
    assert Decimal(first.cost.split()[0]) == Decimal("2.20")  # 5.5 kWh at 0.40, no VAT
    assert console.cards[1].session.id_token == "DRIVER2"


def test_the_state_endpoint_gives_the_sessions_figures(admin_client, charging):
    charger, sessions = charging
    state = admin_client.get(reverse("admin:sites_charger_console_state", args=[charger.pk])).json()
    session = state["cards"][str(sessions[0].connector_id)]["session"]
    assert session["id"] == sessions[0].pk
    assert session["energy"] == "5.500 kWh"
    assert session["power"] == "11.00 kW"
    assert session["cost"].startswith("2.20 ")


def test_the_page_shows_the_session_and_a_stop_button(client, charging):
    charger, sessions = charging
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client.force_login(user)
    body = client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert "DRIVER1" in body
    assert "5.500 kWh" in body
    assert 'data-operation="stop"' in body
    assert reverse("admin:charging_chargingsession_change", args=[sessions[0].pk]) in body


def test_stop_from_the_card_names_the_transaction_and_keeps_the_reason(client, charging):
    charger, sessions = charging
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client.force_login(user)
    url = reverse("admin:sites_charger_console", args=[charger.pk, "stop"])
    refused = client.post(url, {"connector": sessions[1].connector_id, "reason": " "}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    response = client.post(
        url, {"connector": sessions[1].connector_id, "reason": "driver called"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.content
    command = Command.objects.get()
    assert intent_of(command) == RemoteStop(transaction_id=str(sessions[1].transaction_id))
    activity = Activity.objects.get(verb="stop requested")
    assert activity.changes["reason"] == "driver called"
    assert activity.actor == user


def test_reserve_opens_the_reservation_form_filled_in(admin_client, charging):
    charger, sessions = charging
    connector = sessions[0].connector
    body = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    link = f"{reverse('admin:charging_reservation_add')}?charger={charger.pk}&amp;connector={connector.pk}"
    assert link in body
    form = admin_client.get(link.replace("&amp;", "&")).context["adminform"].form
    assert (str(form.initial["charger"]), str(form.initial["connector"])) == (str(charger.pk), str(connector.pk))
