import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import SessionCost, Tariff, TariffAssignment, TariffBand
from billing.selectors import tariff_for
from billing.tasks import compute_session_costs_task
from charging import pricing
from charging.models import ChargingSession, MeterValue
from charging.services import (
    MeterReading,
    MeterSnapshot,
    SessionStart,
    SessionStop,
    TransactionEventIn,
    close_session,
    open_session,
    record_transaction_event,
)
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC)  # 21:00 in Berlin


@pytest.fixture(autouse=True)
def tasks_run_inline(monkeypatch):
    """The real task, run in this process: with a broker configured (CI's second stage) nothing
    would consume the queue during a unit test."""
    monkeypatch.setattr(compute_session_costs_task, "delay", lambda *args: compute_session_costs_task.apply(args=args))


@pytest.fixture
def connector():
    connector = ConnectorFactory(connector_id=1)
    connector.charger.site.timezone = "Europe/Berlin"
    connector.charger.site.save()
    return connector


def _tariff(organization, name: str, **prices) -> Tariff:
    return Tariff.objects.create(organization=organization, name=name, **prices)


def test_the_most_specific_valid_assignment_wins(connector):
    charger = connector.charger
    organization = charger.site.organization
    org_tariff, site_tariff, charger_tariff = (_tariff(organization, n) for n in ("org", "site", "charger"))
    TariffAssignment.objects.create(
        tariff=org_tariff, organization=organization, valid_from=START - dt.timedelta(days=9)
    )
    TariffAssignment.objects.create(tariff=site_tariff, site=charger.site, valid_from=START - dt.timedelta(days=9))
    assert tariff_for(charger, START) == site_tariff
    TariffAssignment.objects.create(
        tariff=charger_tariff, charger=charger, valid_from=START - dt.timedelta(days=9), valid_to=START
    )
    assert tariff_for(charger, START) == site_tariff  # the charger's assignment ended
    assert tariff_for(charger, START - dt.timedelta(hours=1)) == charger_tariff
    assert tariff_for(charger, START - dt.timedelta(days=10)) is None


def _charge(connector, django_capture_on_commit_callbacks) -> int:
    charger_id = connector.charger_id
    start = open_session(
        start=SessionStart(
            charger_id=charger_id, connector_id=1, token="T", meter_start_wh=1000, started_at=START, received_at=START
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        close_session(
            stop=SessionStop(
                charger_id=charger_id,
                transaction_id=start.transaction_id,
                meter_stop_wh=21000,
                stopped_at=START + dt.timedelta(hours=2),
                received_at=timezone.now(),
            )
        )
    return start.transaction_id


def test_a_completed_session_is_priced_on_commit_with_its_breakdown(connector, django_capture_on_commit_callbacks):
    organization = connector.charger.site.organization
    tariff = _tariff(organization, "Standard", price_per_kwh=Decimal("0.40"), flat_fee=Decimal("1"),
                     vat_percent=Decimal("19"))  # fmt: skip
    TariffBand.objects.create(tariff=tariff, start_time=dt.time(22), end_time=dt.time(6), price_per_kwh=Decimal("0.20"))
    TariffAssignment.objects.create(tariff=tariff, organization=organization, valid_from=START - dt.timedelta(days=1))
    transaction_id = _charge(connector, django_capture_on_commit_callbacks)
    cost = SessionCost.objects.get(session__transaction_id=transaction_id)
    # 20 kWh over 21:00-23:00 Berlin: 10 at 0.40, 10 at 0.20 (night), plus the 1.00 fee
    assert (cost.net, cost.vat, cost.total, cost.currency) == (Decimal("7.00"), Decimal("1.33"), Decimal("8.33"), "EUR")
    assert [line["kind"] for line in cost.breakdown["lines"]] == ["session", "energy", "energy"]


def test_no_tariff_no_cost(connector, django_capture_on_commit_callbacks):
    _charge(connector, django_capture_on_commit_callbacks)
    assert not SessionCost.objects.exists()


def test_meter_readings_shape_the_energy_intervals(connector, django_capture_on_commit_callbacks):
    organization = connector.charger.site.organization
    tariff = _tariff(organization, "Night", price_per_kwh=Decimal("0.40"))
    TariffBand.objects.create(tariff=tariff, start_time=dt.time(22), end_time=dt.time(6), price_per_kwh=Decimal("0"))
    TariffAssignment.objects.create(tariff=tariff, organization=organization, valid_from=START - dt.timedelta(days=1))
    transaction_id = _charge(connector, django_capture_on_commit_callbacks)
    session = SessionCost.objects.get().session
    # All 20 kWh arrived before 22:00 Berlin (a reading at 21:30 Berlin says so): priced by day.
    MeterValue.objects.create(session=session, charger=session.charger, connector=session.connector,
                              timestamp=START + dt.timedelta(minutes=30), value=21000, raw_value="21000")  # fmt: skip
    from billing.services import compute_session_cost

    cost = compute_session_cost(session_id=session.pk)
    assert cost.net == Decimal("8.00")
    assert transaction_id == session.transaction_id


def test_the_admin_recomputes_after_a_tariff_correction(admin_client, connector, django_capture_on_commit_callbacks):
    organization = connector.charger.site.organization
    tariff = _tariff(organization, "Standard", price_per_kwh=Decimal("0.40"))
    TariffAssignment.objects.create(tariff=tariff, organization=organization, valid_from=START - dt.timedelta(days=1))
    _charge(connector, django_capture_on_commit_callbacks)
    cost = SessionCost.objects.get()
    assert cost.net == Decimal("8.00")
    Tariff.objects.filter(pk=tariff.pk).update(price_per_kwh=Decimal("0.30"))
    admin_client.post(
        reverse("admin:billing_sessioncost_changelist"), {"action": "recompute", "_selected_action": [cost.pk]}
    )
    cost.refresh_from_db()
    assert cost.net == Decimal("6.00")


def test_the_task_does_nothing_for_a_session_that_does_not_exist():
    assert compute_session_costs_task.apply(args=([999_999],)).get() == [None]


def _completed(connector, *, energy_wh: int, **ids):
    """A completed session written directly: 21:00-23:00 Berlin, `energy_wh` from a 1000 Wh start."""
    return ChargingSession.objects.create(
        charger=connector.charger, connector=connector, id_tag="T", state="completed", started_at=START,
        stopped_at=START + dt.timedelta(hours=2), meter_start_wh=1000, meter_stop_wh=1000 + energy_wh,
        energy_wh=energy_wh, **ids,
    )  # fmt: skip


def test_a_2_0_1_session_is_priced_like_a_1_6_one(connector):
    """The same charge on a 1.6 connector and on EVSE 2 of a 2.0.1 station at the same site: the
    2.0.1 session (named by the station's transaction id, no integer id) costs the same."""
    organization = connector.charger.site.organization
    tariff = _tariff(organization, "Standard", price_per_kwh=Decimal("0.40"), flat_fee=Decimal("1"),
                     vat_percent=Decimal("19"))  # fmt: skip
    TariffBand.objects.create(tariff=tariff, start_time=dt.time(22), end_time=dt.time(6), price_per_kwh=Decimal("0.20"))
    TariffAssignment.objects.create(tariff=tariff, site=connector.charger.site, valid_from=START - dt.timedelta(days=1))
    station = ChargerFactory(site=connector.charger.site, ocpp_version="2.0.1")
    evse2 = ConnectorFactory(charger=station, evse_id=2, connector_id=1)
    old = _completed(connector, energy_wh=20000, transaction_id=7)
    new = _completed(evse2, energy_wh=20000, transaction_id=None, transaction_uid="station-tx-1")
    prices = compute_session_costs_task.apply(args=([old.pk, new.pk],)).get()
    assert prices == ["8.33 EUR", "8.33 EUR"]
    cost = SessionCost.objects.get(session__transaction_uid="station-tx-1")
    assert (cost.net, cost.vat, cost.total, cost.tariff) == (Decimal("7.00"), Decimal("1.33"), Decimal("8.33"), tariff)
    assert cost.breakdown == SessionCost.objects.get(session=old).breakdown


def _event(charger, kind: str, seq_no: int, minutes: int, wh: int, **fields):
    at = START + dt.timedelta(minutes=minutes)
    return TransactionEventIn(
        charger_id=charger.pk, transaction_id="TX-COST", seq_no=seq_no, kind=kind, timestamp=at,
        received_at=at, readings=[MeterSnapshot(at, [MeterReading(str(wh))])], payload={"seqNo": seq_no}, **fields,
    )  # fmt: skip


def test_the_last_event_of_a_transaction_is_answered_with_its_total_cost(connector):
    """2.0.1 I03.FR.02: the total cost in the answer to the last event, when it is known; the
    same answer to the event sent again; without a tariff, no cost (omitted, I03.FR.04)."""
    charger = connector.charger
    organization = charger.site.organization
    tariff = _tariff(organization, "Standard", price_per_kwh=Decimal("0.40"), vat_percent=Decimal("0"))
    TariffAssignment.objects.create(tariff=tariff, organization=organization, valid_from=START - dt.timedelta(days=1))
    assert record_transaction_event(_event(charger, "started", 0, 0, 1000)).total_cost is None
    ended = _event(charger, "ended", 1, 30, 11_000)
    assert record_transaction_event(ended).total_cost == Decimal("4.00")
    again = record_transaction_event(ended)
    assert (again.duplicate, again.total_cost) == (True, Decimal("4.00"))
    assert SessionCost.objects.get(session__transaction_uid="TX-COST").total == Decimal("4.00")


def test_a_failure_to_price_never_fails_the_last_event(connector, monkeypatch):
    def broken(session_id: int) -> Decimal:
        raise RuntimeError("tariff service down")

    monkeypatch.setattr(pricing, "_pricer", broken)
    record_transaction_event(_event(connector.charger, "started", 0, 0, 1000))
    outcome = record_transaction_event(_event(connector.charger, "ended", 1, 30, 2000))
    assert outcome.total_cost is None
    assert ChargingSession.objects.get(transaction_uid="TX-COST").state == "completed"
