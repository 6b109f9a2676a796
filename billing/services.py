"""Pricing completed sessions: the calculator's inputs from the database, the result stored;
and operators' changes to tariffs and where they apply (the partner API)."""

from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import diff, record_activity, record_change, snapshot
from billing.calculator import Band, Reading, TariffSpec, Usage, price_session
from billing.currencies import minor_units
from billing.models import SessionCost, Tariff, TariffAssignment, TariffBand
from billing.selectors import tariff_for
from billing.signals import session_priced
from charging.measurands import ENERGY_REGISTER, to_wh
from charging.models import ChargingSession, MeterValue, SessionState
from sites.services import refuse_unchangeable


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
    transaction.on_commit(partial(session_priced.send, sender=SessionCost, session_ids=[session.pk]))
    return cost


def total_cost_of_completed_session(session_id: int) -> Decimal | None:
    """Price a session that just completed and return its total (None without a tariff)."""
    cost = compute_session_cost(session_id=session_id)
    return cost.total if cost is not None else None


# --- Tariffs, their bands and assignments (the partner API) ----------------------------------
# The same rules as the admin's forms: each row's full_clean (prices and fees never negative,
# the maximum not below the minimum, VAT from 0 to 100 %, an ISO 4217 currency with at most two
# minor units, names unique per organization, exactly one target per assignment), raising
# django's ValidationError; every change is in the audit trail, a tariff's with its bands.

TARIFF_FIELDS = (
    "name", "currency", "vat_percent", "flat_fee", "price_per_kwh", "price_per_minute", "idle_fee_per_minute",
    "idle_grace_minutes", "min_price", "max_price",
)  # fmt: skip
BAND_FIELDS = ("start_time", "end_time", "price_per_kwh", "price_per_minute")
ASSIGNMENT_TARGETS = ("organization", "site", "charger")
ASSIGNMENT_FIELDS = (*ASSIGNMENT_TARGETS, "valid_from", "valid_to")


def _tariff_state(tariff: Tariff) -> dict:
    """The tariff's fields and its bands, as the audit trail records them."""
    bands = [{name: snapshot(band)[name] for name in BAND_FIELDS} for band in tariff.bands.order_by("start_time")]
    return {**snapshot(tariff), "bands": bands}


def _replace_bands(tariff: Tariff, bands: Iterable[dict]) -> None:
    """The tariff's time-of-day bands become exactly these."""
    rows = []
    for number, fields in enumerate(bands, start=1):
        refuse_unchangeable(fields, BAND_FIELDS, "tariff band")
        band = TariffBand(tariff=tariff, **fields)
        try:
            band.full_clean(exclude=["tariff"])
        except ValidationError as error:
            messages = [
                f"Band {number}, {field}: {text}" for field, texts in error.message_dict.items() for text in texts
            ]
            raise ValidationError({"bands": messages}) from None
        rows.append(band)
    tariff.bands.all().delete()
    TariffBand.objects.bulk_create(rows)


@transaction.atomic
def create_tariff(*, organization: Organization, bands: Iterable[dict] = (), by, via: str, **fields) -> Tariff:
    refuse_unchangeable(fields, TARIFF_FIELDS, "tariff")
    tariff = Tariff(organization=organization, **fields)
    tariff.full_clean()
    tariff.save()
    _replace_bands(tariff, bands)
    record_activity(actor=by, verb="created", obj=tariff, via=via, changes=diff({}, _tariff_state(tariff)))
    return tariff


@transaction.atomic
def update_tariff(tariff: Tariff, *, bands: Iterable[dict] | None = None, by, via: str, **changes) -> Tariff:
    """Change the tariff's prices; `bands`, when given, replace its bands as a whole. Its
    organization never changes. Sessions already priced keep their price until recomputed."""
    refuse_unchangeable(changes, TARIFF_FIELDS, "tariff")
    before = _tariff_state(tariff)
    for name, value in changes.items():
        setattr(tariff, name, value)
    tariff.full_clean()
    tariff.save()
    if bands is not None:
        _replace_bands(tariff, bands)
    record_activity(actor=by, verb="changed", obj=tariff, via=via, changes=diff(before, _tariff_state(tariff)))
    return tariff


@transaction.atomic
def delete_tariff(tariff: Tariff, *, by, via: str) -> None:
    """Its bands and assignments go with it (as in the admin); session costs keep their amounts."""
    record_activity(actor=by, verb="deleted", obj=tariff, via=via, changes=diff(_tariff_state(tariff), {}))
    tariff.delete()


def _check_assignment(assignment: TariffAssignment) -> None:
    assignment.full_clean()
    for name in ASSIGNMENT_TARGETS:
        target = getattr(assignment, name)
        if target is None:
            continue
        organization_id = target.pk if name == "organization" else (
            target.organization_id if name == "site" else target.site.organization_id
        )  # fmt: skip
        if organization_id != assignment.tariff.organization_id:
            raise ValidationError({name: ["Choose one of the tariff's own organization."]})


@transaction.atomic
def create_tariff_assignment(*, tariff: Tariff, by, via: str, **fields) -> TariffAssignment:
    """Apply `tariff` to one target of its organization (an organization, a site or a charger)
    from `valid_from` (default now) until `valid_to` (open-ended when empty)."""
    refuse_unchangeable(fields, ASSIGNMENT_FIELDS, "tariff assignment")
    if fields.get("valid_from") is None:
        fields.pop("valid_from", None)
    assignment = TariffAssignment(tariff=tariff, **fields)
    _check_assignment(assignment)
    assignment.save()
    record_change(actor=by, verb="created", obj=assignment, via=via)
    return assignment


@transaction.atomic
def update_tariff_assignment(assignment: TariffAssignment, *, by, via: str, **changes) -> TariffAssignment:
    """Change the target or the validity; the tariff stays (a new tariff is a new assignment)."""
    refuse_unchangeable(changes, ASSIGNMENT_FIELDS, "tariff assignment")
    before = snapshot(assignment)
    for name, value in changes.items():
        setattr(assignment, name, value)
    _check_assignment(assignment)
    assignment.save()
    record_change(actor=by, verb="changed", obj=assignment, via=via, before=before)
    return assignment


@transaction.atomic
def delete_tariff_assignment(assignment: TariffAssignment, *, by, via: str) -> None:
    record_change(actor=by, verb="deleted", obj=assignment, via=via)
    assignment.delete()
