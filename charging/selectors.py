"""Reads of charging sessions for the admin (and for whoever watches sessions, such as alerts):
which active sessions look stuck, what a session's page shows (times in its site's time zone,
the flags for review and what they mean, the stored price, the energy and power over time)."""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from charging.measurands import ACTIVE_POWER, ENERGY_REGISTER, to_w, to_wh
from charging.models import ChargingSession, MeterValue, SessionState, TransactionEventRecord
from charging.pricing import CostSummary, stored_cost
from common.times import format_local
from sites.models import StatusNotificationRecord

# The chart of a session's energy and power draws at most this many points (a long session
# at a short sample interval holds tens of thousands).
CHART_MAX_POINTS = 500


# --- Possibly stuck sessions ----------------------------------------------------------------


def stuck_after() -> dt.timedelta:
    """How long an active session may show nothing before it counts as possibly stuck."""
    return dt.timedelta(minutes=settings.SESSION_STUCK_AFTER)


def stuck_sessions(now: dt.datetime | None = None, *, sessions: QuerySet | None = None) -> QuerySet:
    """Active sessions that have shown no meter value, no status of their connector and no
    transaction event for SESSION_STUCK_AFTER minutes (by our receipt times, so a charger's
    wrong clock does not hide or invent one). `sessions` narrows the search (a tenant's rows)."""
    now = now or timezone.now()
    since = now - stuck_after()
    base = ChargingSession.objects.all() if sessions is None else sessions
    recent_reading = MeterValue.objects.filter(session=OuterRef("pk"), received_at__gte=since)
    recent_event = TransactionEventRecord.objects.filter(session=OuterRef("pk"), received_at__gte=since)
    recent_status = StatusNotificationRecord.objects.annotate(evse=Coalesce("evse_id", 0)).filter(
        charger=OuterRef("charger_id"),
        connector_id=OuterRef("connector__connector_id"),
        evse=Coalesce(OuterRef("connector__evse_id"), 0),
        received_at__gte=since,
    )
    return base.filter(state=SessionState.ACTIVE, start_received_at__lt=since).exclude(
        Exists(recent_reading) | Exists(recent_event) | Exists(recent_status)
    )


def last_heard_at(session: ChargingSession) -> dt.datetime:
    """When we last received anything of the session: its start, a meter value, a transaction
    event or a status of its connector (our receipt times)."""
    moments = [session.start_received_at]
    if session.stop_received_at:
        moments.append(session.stop_received_at)
    for rows in (
        MeterValue.objects.filter(session=session),
        TransactionEventRecord.objects.filter(session=session),
        StatusNotificationRecord.objects.filter(
            charger_id=session.charger_id,
            connector_id=session.connector.connector_id,
            evse_id=session.connector.evse_id,
            received_at__gte=session.start_received_at,
        ),
    ):
        latest = rows.order_by("-received_at").values_list("received_at", flat=True).first()
        if latest is not None:
            moments.append(latest)
    return max(moments)


def last_reading_at(session: ChargingSession) -> dt.datetime:
    """The charger's time of the session's latest meter value (its start when it sent none): the
    natural stop time of a session whose stop never came."""
    latest = session.meter_values.order_by("-timestamp").values_list("timestamp", flat=True).first()
    return max(latest, session.started_at) if latest is not None else session.started_at


# --- Flags for review -------------------------------------------------------------------------

# What each note the services write when they flag a session means to an operator (the notes
# are written in charging.services; the first pattern that matches explains it).
FLAG_MEANINGS: tuple[tuple[str, str], ...] = (
    (r"is in the future", "The charger's clock was ahead of ours: its times (and the duration) may be wrong."),
    (r"implausibly old", "The charger's clock was not set: its times (and the duration) are wrong."),
    (r"stop time is before start time", "The charger's times contradict each other: the duration is wrong."),
    (r"is below meter start", "The meter reading went down: the energy was recorded as 0 and may be lost."),
    (r"register went backwards", "A meter reading was lower than an earlier one (meter replaced or reset?)."),
    (r"id token status", "The charger let a token charge that we would have refused (it decided offline)."),
    (
        r"new session started on this connector",
        "The stop was never received: we closed it when the next session started, at that session's start time.",
    ),
    (r"closed by .* \(operator\)", "Closed by an operator; the stop time and reason are theirs."),
    (r"reviewed by", "An operator looked at the flags above and marked the session reviewed."),
    (r"received after the transaction ended", "The charger sent part of the transaction late, after its end."),
    (r"events missing", "Some of the transaction's events never arrived: energy or times may be incomplete."),
    (r"all events of the transaction received", "The missing events have arrived since."),
    (r"no start event received", "The transaction began without its start event: its start may be missing."),
    (r"meter start taken as|meter start .* taken from", "The start reading was not sent: the energy is estimated."),
    (r"second start event", "The charger reported the start twice."),
    (r"started like this one", "Another transaction with the same start was merged here."),
    (r"has another active session", "The charger named a connector already in use by another session."),
)


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    note: str
    meaning: str


def review_flags(session: ChargingSession) -> list[ReviewFlag]:
    """The session's review notes, one per line, each with what it means."""
    flags = []
    for note in filter(None, (line.strip() for line in session.review_notes.splitlines())):
        meaning = next((text for pattern, text in FLAG_MEANINGS if re.search(pattern, note)), "")
        flags.append(ReviewFlag(note=note, meaning=meaning))
    return flags


# --- The session page -------------------------------------------------------------------------


def local_time(moment: dt.datetime | None, zone: ZoneInfo | str) -> str:
    """A moment in the site's time zone, to the second ("5 Dec 2026, 14:03:07 CET")."""
    return format_local(moment, zone)


def format_duration(duration: dt.timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = max(int(duration.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {seconds:02d} s" if hours else f"{minutes} min {seconds:02d} s"


def _zone(session: ChargingSession) -> ZoneInfo:
    return ZoneInfo(session.charger.site.timezone)


def session_chart(session: ChargingSession, *, max_points: int = CHART_MAX_POINTS) -> dict[str, Any]:
    """Energy delivered (kWh) and power (kW) over time from the session's whole-meter readings,
    at most `max_points` points (evenly thinned, the last one kept), labelled in the site's time."""
    zone = _zone(session)
    rows = (
        MeterValue.objects.filter(session=session, measurand__in=[ENERGY_REGISTER, ACTIVE_POWER], value__isnull=False)
        .order_by("timestamp", "id")
        .values_list("timestamp", "measurand", "phase", "value", "unit")
    )
    energy: dict[dt.datetime, Decimal] = {}
    power_total: dict[dt.datetime, Decimal] = {}
    power_phases: dict[dt.datetime, Decimal] = {}
    for timestamp, measurand, phase, value, unit in rows.iterator():
        if value is None:
            continue
        if measurand == ENERGY_REGISTER and not phase:
            energy[timestamp] = (to_wh(value, unit) - session.meter_start_wh) / 1000
        elif measurand == ACTIVE_POWER:
            target = power_phases if phase else power_total
            target[timestamp] = target.get(timestamp, Decimal(0)) + to_w(value, unit) / 1000
    power = {**power_phases, **power_total}  # a total beats the sum of its phases
    moments = sorted(energy.keys() | power.keys())
    if len(moments) > max_points:
        step = len(moments) / (max_points - 1)
        moments = [moments[int(i * step)] for i in range(max_points - 1)] + [moments[-1]]

    def number(value: Decimal | None, places: str) -> float | None:
        return float(value.quantize(Decimal(places))) if value is not None else None

    spans_days = bool(moments) and moments[0].astimezone(zone).date() != moments[-1].astimezone(zone).date()
    label = "%m-%d %H:%M:%S" if spans_days else "%H:%M:%S"
    return {
        "labels": [moment.astimezone(zone).strftime(label) for moment in moments],
        "energy_kwh": [number(energy.get(moment), "0.001") for moment in moments],
        "power_kw": [number(power.get(moment), "0.01") for moment in moments],
        "time_zone": str(zone),
    }


def session_figures(session: ChargingSession, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What changes while a session runs (JSON-safe): the page shows them, and an active
    session's page refreshes them from the admin's live view."""
    now = now or timezone.now()
    zone = _zone(session)
    active = session.state == SessionState.ACTIVE
    heard = last_heard_at(session) if active else None
    return {
        "active": active,
        "state": "Active" if active else "Completed",
        "stopped": local_time(session.stopped_at, zone),
        "duration": format_duration((now - session.started_at) if active else session.duration),
        "energy_kwh": f"{session.energy_wh / 1000:.3f}",
        "last_power_kw": f"{session.last_power_w / 1000:.2f}" if session.last_power_w is not None else "",
        "last_heard": local_time(heard, zone),
        "stuck": bool(active and heard is not None and heard < now - stuck_after()),
        "chart": session_chart(session),
    }


def session_page(session: ChargingSession, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the session's page shows above its meter values."""
    zone = _zone(session)
    cost: CostSummary | None = stored_cost(session.pk)
    token_url = reverse("admin:charging_idtoken_change", args=[session.id_token_id]) if session.id_token_id else ""
    return {
        **session_figures(session, now=now),
        "session": session,
        "charger": session.charger,
        "charger_url": reverse("admin:sites_charger_change", args=[session.charger_id]),
        "connector": (
            f"EVSE {session.connector.evse_id} / connector {session.connector.connector_id}"
            if session.connector.evse_id is not None
            else f"connector {session.connector.connector_id}"
        ),
        "id_tag": session.id_tag or (session.id_token.id_tag if session.id_token else ""),
        "id_token_url": token_url,
        "transaction": session.transaction_uid or str(session.transaction_id or ""),
        "time_zone": str(zone),
        "started": local_time(session.started_at, zone),
        "stop_reason": session.stop_reason,
        "stuck_after_minutes": settings.SESSION_STUCK_AFTER,
        "needs_review": session.needs_review,
        "flags": review_flags(session),
        "cost": cost,
        "live_url": (
            reverse("admin:charging_chargingsession_live", args=[session.pk])
            if session.state == SessionState.ACTIVE
            else ""
        ),
    }


def selected(sessions: QuerySet) -> list[ChargingSession]:
    """The sessions (the admin's scoped selection), with what their pages and forms show."""
    return list(sessions.select_related("charger__site", "connector"))
