"""Pricing completed sessions: the calculator's inputs from the database, the result stored."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.calculator import Band, Reading, TariffSpec, Usage, price_session
from billing.currencies import minor_units
from billing.models import SessionCost, Tariff
from billing.selectors import tariff_for
from charging.measurands import ENERGY_REGISTER, to_wh
from charging.models import ChargingSession, MeterValue, SessionState


def tariff_spec(tariff: Tariff) -> TariffSpec:
    return TariffSpec(
        currency=tariff.currency,
        minor_units=minor_units(tariff.currency),
        vat_percent=tariff.vat_percent,
        flat_fee=tariff.flat_fee,
        price_per_kwh=tariff.price_per_kwh,
        price_per_minute=tariff.price_per_minute,
        idle_fee_per_minute=tariff.idle_fee_per_minute,
        idle_grace_minutes=tariff.idle_grace_minutes,
        min_price=tariff.min_price,
        max_price=tariff.max_price,
        bands=tuple(
            Band(band.start_time, band.end_time, band.price_per_kwh, band.price_per_minute)
            for band in tariff.bands.all()
        ),
    )


def session_usage(session: ChargingSession) -> Usage:
    """Start, stop and the energy register readings in between (whole-meter values only)."""
    readings = MeterValue.objects.filter(
        session=session, measurand=ENERGY_REGISTER, phase="", value__isnull=False
    ).values_list("timestamp", "value", "unit")
    return Usage(
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        meter_start_wh=session.meter_start_wh,
        meter_stop_wh=session.meter_start_wh + session.energy_wh,  # never below the start (R11)
        timezone=session.charger.site.timezone,
        readings=tuple(Reading(at, int(to_wh(value, unit))) for at, value, unit in readings),
    )


@transaction.atomic
def compute_session_cost(*, session_id: int) -> SessionCost | None:
    """Price a completed session with the tariff in force when it started; None when no
    tariff applies. Running it again (after a tariff correction) replaces the price."""
    session = ChargingSession.objects.select_related("charger__site").get(pk=session_id)
    if session.state != SessionState.COMPLETED or session.stopped_at is None:
        return None
    tariff = tariff_for(session.charger, session.started_at)
    if tariff is None:
        SessionCost.objects.filter(session=session).delete()
        return None
    price = price_session(tariff_spec(tariff), session_usage(session))
    cost, _ = SessionCost.objects.update_or_create(
        session=session,
        defaults={
            "tariff": tariff,
            "currency": price.currency,
            "net": price.net,
            "vat": price.vat,
            "total": price.total,
            "breakdown": price.as_dict(),
            "computed_at": timezone.now(),
        },
    )
    return cost


def total_cost_of_completed_session(session_id: int) -> Decimal | None:
    """Price a session that just completed and return its total (None without a tariff)."""
    cost = compute_session_cost(session_id=session_id)
    return cost.total if cost is not None else None
