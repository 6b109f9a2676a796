"""The cost so far of the sessions in progress on a charger, for its page in the admin
(sites.console): priced as if each stopped now, with the tariff in force when it started."""

import datetime as dt
from collections import defaultdict

from django.db.models import Prefetch, Q
from django.utils import timezone

from billing.calculator import Reading, Usage, price_session
from billing.models import TariffAssignment, TariffBand
from billing.services import tariff_spec
from charging.measurands import ENERGY_REGISTER, to_wh
from charging.models import MeterValue
from sites.console import RunningSession, register_cost_so_far
from sites.models import Charger


def _assignments(charger: Charger, earliest: dt.datetime) -> list[TariffAssignment]:
    """Every assignment that may be in force for the charger since `earliest` (2 queries)."""
    return list(
        TariffAssignment.objects.filter(
            Q(charger_id=charger.pk) | Q(site_id=charger.site_id) | Q(organization_id=charger.site.organization_id),
            Q(valid_to__isnull=True) | Q(valid_to__gt=earliest),
        )
        .select_related("tariff")
        .prefetch_related(Prefetch("tariff__bands", queryset=TariffBand.objects.all()))
        .order_by("-valid_from")
    )


def _in_force(assignments: list[TariffAssignment], charger: Charger, at: dt.datetime):
    """As billing.selectors.tariff_for, over rows already read: charger, then site, then organization."""
    valid = [a for a in assignments if a.valid_from <= at and (a.valid_to is None or a.valid_to > at)]
    for matches in (lambda a: a.charger_id == charger.pk, lambda a: a.site_id == charger.site_id,
                    lambda a: a.organization_id == charger.site.organization_id):  # fmt: skip
        found = next((a for a in valid if matches(a)), None)
        if found is not None:
            return found.tariff
    return None


def cost_so_far(charger: Charger, sessions: list[RunningSession]) -> dict[int, str]:
    if not sessions:
        return {}
    now = timezone.now()
    assignments = _assignments(charger, min(s.started_at for s in sessions))
    readings: dict[int, list[Reading]] = defaultdict(list)
    rows = MeterValue.objects.filter(
        session_id__in=[s.session_id for s in sessions], measurand=ENERGY_REGISTER, phase="", value__isnull=False
    ).values_list("session_id", "timestamp", "value", "unit")
    for session_id, at, value, unit in rows:
        if value is not None:
            readings[session_id].append(Reading(at, int(to_wh(value, unit))))
    costs = {}
    for session in sessions:
        tariff = _in_force(assignments, charger, session.started_at)
        if tariff is None:
            continue
        usage = Usage(
            started_at=session.started_at,
            stopped_at=max(now, session.started_at),
            meter_start_wh=session.meter_start_wh,
            meter_stop_wh=session.meter_start_wh + session.energy_wh,
            timezone=charger.site.timezone,
            readings=tuple(readings[session.session_id]),
        )
        price = price_session(tariff_spec(tariff), usage)
        costs[session.session_id] = f"{price.total} {price.currency}"
    return costs


def register() -> None:
    register_cost_so_far(cost_so_far)
