"""Alerts (issue 19): what operators are told about, raised and resolved here.

- Charger offline: a charger not heard from for ALERTS_OFFLINE_AFTER minutes (found by the
  sweep). One alert per outage (the subject names when the charger was last heard from), so an
  alert a person resolved while the charger stays offline is not raised again; it resolves by
  itself when the charger is back online.
- Charger fault: a charger or connector entering the Faulted state (OCPP 1.6 sec. 4.9 / 7.7,
  2.0.1 G01 connectorStatus Faulted), raised from the status signal the moment it is applied,
  resolved by itself when the state leaves Faulted. Error codes reported with another state
  are warnings (the connector still works) and raise nothing; analytics counts them.
- Session possibly stuck: an active session that has shown nothing for SESSION_STUCK_AFTER
  minutes (charging.selectors.stuck_sessions; found by the sweep); resolves by itself when the
  session ends or is heard from again. Not raised again for a session a person resolved.
- Critical security event: one of the types the security lists say should be pushed to the
  operator (sites.security_events), raised as it is recorded. Acknowledging or resolving the
  alert acknowledges the event; acknowledging the event resolves the alert.

The periodic sweep (`sweep_alerts`) raises what has no signal and resolves what ended, so a
signal lost in a crash is caught up within one sweep. Members of the organization who
subscribed (AlertSubscription) are emailed each new alert by a Celery task, after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity, Role
from accounts.services import record_activity
from charging.models import ChargingSession, SessionState
from charging.selectors import stuck_sessions
from common.signals import AlertFact, alert_changed
from common.times import format_local
from reports.models import Alert, AlertKind, AlertState, AlertSubscription
from sites.models import Charger, Connector, SecurityEvent
from sites.security_events import acknowledge_security_events, event_type
from sites.signals import DeviceProblem, StatusChange

logger = logging.getLogger(__name__)

FAULTED = "Faulted"
UNRESOLVED = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
# Roles that work in the admin and may be emailed alerts (partners work through the API).
ALERTED_ROLES = (Role.ADMIN, Role.OPERATOR, Role.MAINTENANCE, Role.VIEWER)
# Critical security events older than this are not raised by the sweep (it catches up what a
# crash lost, it does not dig up history).
SECURITY_CATCH_UP = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Condition:
    """Something that deserves an alert, before it is one."""

    kind: str
    subject: str
    organization_id: int
    summary: str
    charger_id: int | None = None
    session_id: int | None = None
    security_event_id: int | None = None
    detail: dict = field(default_factory=dict)


def offline_after() -> dt.timedelta:
    return dt.timedelta(minutes=settings.ALERTS_OFFLINE_AFTER)


def _local(moment: dt.datetime, zone_name: str = "UTC") -> str:
    """A moment as the site's operators read it: "5 Dec 2026, 14:03:07 CET"."""
    return format_local(moment, zone_name)


# --- raising and resolving ----------------------------------------------------------------------


def raise_alerts(
    conditions: Iterable[Condition], *, now: dt.datetime | None = None, again_after_dismissal: bool = False
) -> list[Alert]:
    """Open an alert for each condition that has no unresolved one, nor (unless
    `again_after_dismissal`) one a person resolved: they know, and the same subject is the same
    outage or session. Returns the new alerts; subscribers are emailed once the transaction commits."""
    conditions = list(conditions)
    if not conditions:
        return []
    now = now or timezone.now()
    blocking = Q(state__in=UNRESOLVED)
    if not again_after_dismissal:
        blocking |= Q(resolved_by__isnull=False)
    unresolved = set(
        Alert.objects.filter(
            blocking, kind__in={c.kind for c in conditions}, subject__in={c.subject for c in conditions}
        ).values_list("kind", "subject")
    )
    raised = []
    for condition in conditions:
        if (condition.kind, condition.subject) in unresolved:
            continue
        alert = _open(condition, now)
        if alert is not None:
            unresolved.add((condition.kind, condition.subject))
            raised.append(alert)
    return raised


def _open(condition: Condition, now: dt.datetime) -> Alert | None:
    """One alert, or None when another process opened it meanwhile (the unique constraint)."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization_id=condition.organization_id,
                kind=condition.kind,
                subject=condition.subject,
                charger_id=condition.charger_id,
                session_id=condition.session_id,
                security_event_id=condition.security_event_id,
                summary=condition.summary[:255],
                detail=condition.detail,
                raised_at=now,
            )
    except IntegrityError:
        return None
    logger.info("alert raised: %s %s", alert.kind, alert.subject)
    transaction.on_commit(lambda: _notify_later(alert.pk))
    _announce([_fact(alert)])
    return alert


def _fact(alert: Alert) -> AlertFact:
    return AlertFact(
        alert_id=alert.pk, organization_id=alert.organization_id, kind=alert.kind, state=alert.state,
        summary=alert.summary, charger_id=alert.charger_id, at=alert.resolved_at or alert.raised_at,
        resolution=alert.resolution,
    )  # fmt: skip


def _announce(facts: list[AlertFact]) -> None:
    """Integrations' outbound events (alert.raised, alert.resolved), once committed."""
    if facts:
        transaction.on_commit(lambda: alert_changed.send(sender=Alert, alerts=facts))


def _notify_later(alert_id: int) -> None:
    from reports.tasks import notify_alert_task  # the tasks module imports this one

    notify_alert_task.delay(alert_id)


@transaction.atomic
def resolve_ended(alerts: QuerySet[Alert], *, resolution: str, now: dt.datetime | None = None) -> int:
    """The condition behind these alerts ended by itself: resolved, by nobody."""
    now = now or timezone.now()
    ended = list(alerts.filter(state__in=UNRESOLVED).select_for_update())
    if not ended:
        return 0
    Alert.objects.filter(pk__in=[alert.pk for alert in ended]).update(
        state=AlertState.RESOLVED, resolved_at=now, resolution=resolution[:255]
    )
    for alert in ended:
        alert.state, alert.resolved_at, alert.resolution = AlertState.RESOLVED, now, resolution[:255]
    _announce([_fact(alert) for alert in ended])
    return len(ended)


@transaction.atomic
def acknowledge_alerts(alerts: QuerySet[Alert], *, by, via: str = Activity.Via.ADMIN) -> int:
    """A person has seen these open alerts and is on it; returns how many were open. An alert
    about a security event acknowledges the event too."""
    now = timezone.now()
    chosen = list(alerts.filter(state=AlertState.OPEN).select_for_update())
    for alert in chosen:
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_at = now
        alert.acknowledged_by = by
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        record_activity(actor=by, verb="acknowledged", obj=alert, via=via)
    _acknowledge_events(chosen, by=by)
    return len(chosen)


@transaction.atomic
def resolve_alerts(alerts: QuerySet[Alert], *, by, resolution: str = "", via: str = Activity.Via.ADMIN) -> int:
    """A person closes these alerts (with what was done, when they say); returns how many were
    unresolved. Acknowledges them first when nobody had."""
    now = timezone.now()
    chosen = list(alerts.filter(state__in=UNRESOLVED).select_for_update())
    for alert in chosen:
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, by
        alert.state = AlertState.RESOLVED
        alert.resolved_at = now
        alert.resolved_by = by
        alert.resolution = resolution[:255]
        alert.save(
            update_fields=["state", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "resolution"]
        )
        record_activity(actor=by, verb="resolved", obj=alert, via=via, changes={"resolution": resolution})
    _acknowledge_events(chosen, by=by)
    _announce([_fact(alert) for alert in chosen])
    return len(chosen)


def _acknowledge_events(alerts: Sequence[Alert], *, by) -> None:
    event_ids = [alert.security_event_id for alert in alerts if alert.security_event_id is not None]
    if event_ids:
        acknowledge_security_events(SecurityEvent.objects.filter(pk__in=event_ids), by=by)


# --- conditions ---------------------------------------------------------------------------------


def fault_subject(charger_id: int, evse_id: int | None, connector_id: int) -> str:
    return f"fault:{charger_id}:{evse_id or 0}:{connector_id}"


def _where(charge_point_id: str, evse_id: int | None, connector_id: int) -> str:
    if connector_id == 0 and not evse_id:
        return charge_point_id
    if evse_id:
        return f"{charge_point_id} EVSE {evse_id} connector {connector_id}"
    return f"{charge_point_id} connector {connector_id}"


def apply_status_changes(changes: Sequence[StatusChange]) -> int:
    """Raise an alert for each state that became Faulted, resolve those that left it; returns
    how many alerts were raised. Called with the status signal's changes (most have neither)."""
    entering = [c for c in changes if c.status == FAULTED and c.previous_status != FAULTED]
    leaving = [c for c in changes if c.status != FAULTED and c.previous_status == FAULTED]
    if leaving:
        resolve_ended(
            Alert.objects.filter(
                kind=AlertKind.CHARGER_FAULT,
                subject__in=[fault_subject(c.charger_id, c.evse_id, c.connector_id) for c in leaving],
            ),
            resolution="The state left Faulted.",
        )
    if not entering:
        return 0
    chargers = {
        row["pk"]: row
        for row in Charger.objects.filter(pk__in={c.charger_id for c in entering}).values(
            "pk", "charge_point_id", "site__organization_id"
        )
    }
    conditions = [
        Condition(
            kind=AlertKind.CHARGER_FAULT,
            subject=fault_subject(change.charger_id, change.evse_id, change.connector_id),
            organization_id=chargers[change.charger_id]["site__organization_id"],
            charger_id=change.charger_id,
            summary=(
                f"{_where(chargers[change.charger_id]['charge_point_id'], change.evse_id, change.connector_id)} "
                f"is faulted: {change.error_code}"
            ),
            detail={
                "evse_id": change.evse_id,
                "connector_id": change.connector_id,
                "error_code": change.error_code,
                "reported_at": change.timestamp.isoformat(),
            },
        )
        for change in entering
        if change.charger_id in chargers
    ]
    # Each entry into Faulted is a new fault, even when a person resolved the previous one.
    return len(raise_alerts(conditions, again_after_dismissal=True))


def apply_device_problems(problems: Sequence[DeviceProblem]) -> int:
    """A fault alert for each problem a 2.0.1 station reported with NotifyEvent (a component's
    Problem variable set, a monitor alerting: sites.device_model.services.is_problem). The
    station says nothing when it is over but a clearing event, so a person resolves these; a
    problem reported again after that is a new alert."""
    if not problems:
        return 0
    chargers = dict(
        Charger.objects.filter(pk__in={p.charger_id for p in problems}).values_list("pk", "site__organization_id")
    )
    names = dict(Charger.objects.filter(pk__in=chargers).values_list("pk", "charge_point_id"))
    conditions = []
    for problem in problems:
        if problem.charger_id not in chargers:
            continue
        what = hashlib.sha256(f"{problem.component}|{problem.variable}".encode()).hexdigest()[:16]
        code = f" ({problem.tech_code})" if problem.tech_code else ""
        conditions.append(
            Condition(
                kind=AlertKind.CHARGER_FAULT,
                subject=f"problem:{problem.charger_id}:{problem.evse_id}:{problem.connector_id}:{what}",
                organization_id=chargers[problem.charger_id],
                charger_id=problem.charger_id,
                summary=f"{names[problem.charger_id]} reports a problem: {problem.component} "
                f"{problem.variable} = {problem.actual_value}{code}",
                detail={
                    "evse_id": problem.evse_id,
                    "connector_id": problem.connector_id,
                    "component": problem.component,
                    "variable": problem.variable,
                    "actual_value": problem.actual_value,
                    "tech_code": problem.tech_code,
                    "tech_info": problem.tech_info,
                    "reported_at": problem.timestamp.isoformat(),
                },
            )
        )
    return len(raise_alerts(conditions, again_after_dismissal=True))


def raise_for_security_event(event_id: int) -> Alert | None:
    """An alert for a critical security event about a charger (events about no known charger
    belong to no organization: they stay in the security event list for platform admins)."""
    event = (
        SecurityEvent.objects.filter(pk=event_id, critical=True, acknowledged_at__isnull=True, charger__isnull=False)
        .select_related("charger__site")
        .first()
    )
    if event is None or event.charger is None:
        return None
    raised = raise_alerts([_security_condition(event)])
    return raised[0] if raised else None


def _security_condition(event: SecurityEvent) -> Condition:
    """For an event about a charger (the callers select only those)."""
    site = event.charger.site  # type: ignore[union-attr]
    return Condition(
        kind=AlertKind.SECURITY_EVENT,
        subject=f"security:{event.pk}",
        organization_id=site.organization_id,
        charger_id=event.charger_id,
        security_event_id=event.pk,
        summary=f"{event.charge_point_id}: {event_type(event.kind).description} ({event.kind})",
        detail={
            "kind": event.kind,
            "severity": event.severity,
            "occurred_at": (event.occurred_at or event.timestamp).isoformat(),
        },
    )


# --- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    raised: int = 0
    resolved: int = 0


def sweep_alerts(*, now: dt.datetime | None = None) -> SweepResult:
    """Raise what the signals cannot (offline, stuck) or lost, resolve what ended."""
    now = now or timezone.now()
    result = SweepResult()
    result.resolved += _resolve_reconnected(now)
    result.resolved += _resolve_fault_cleared(now)
    result.resolved += _resolve_unstuck(now)
    result.resolved += _resolve_acknowledged_events(now)
    result.raised += len(raise_alerts(_offline_conditions(now), now=now))
    result.raised += len(raise_alerts(_stuck_conditions(now), now=now))
    result.raised += len(raise_alerts(_unalerted_security_conditions(now), now=now))
    return result


def _offline_conditions(now: dt.datetime) -> list[Condition]:
    rows = Charger.objects.filter(is_online=False, last_seen_at__lt=now - offline_after()).values_list(
        "pk", "charge_point_id", "last_seen_at", "site__organization_id", "site__timezone"
    )
    conditions = []
    for charger_id, charge_point_id, last_seen, organization_id, zone_name in rows:
        if last_seen is None:  # never heard from: nothing to alert about (the filter leaves none)
            continue
        conditions.append(
            Condition(
                kind=AlertKind.CHARGER_OFFLINE,
                # One alert per outage: a charger offline since the same moment is the same outage.
                subject=f"offline:{charger_id}:{int(last_seen.timestamp())}",
                organization_id=organization_id,
                charger_id=charger_id,
                summary=f"{charge_point_id} has been offline since {_local(last_seen, zone_name)}",
                detail={"last_seen_at": last_seen.isoformat()},
            )
        )
    return conditions


def _resolve_reconnected(now: dt.datetime) -> int:
    return resolve_ended(
        Alert.objects.filter(kind=AlertKind.CHARGER_OFFLINE, charger__is_online=True),
        resolution="The charger is back online.",
        now=now,
    )


def _resolve_fault_cleared(now: dt.datetime) -> int:
    """Fault alerts whose charger or connector is no longer Faulted (a recovery the signal did
    not carry: the connector was removed, or the signal was lost)."""
    still_faulted = {
        fault_subject(pk, None, 0) for pk in Charger.objects.filter(status=FAULTED).values_list("pk", flat=True)
    }
    still_faulted |= {
        fault_subject(charger_id, evse_id, connector_id)
        for charger_id, evse_id, connector_id in Connector.objects.filter(status=FAULTED).values_list(
            "charger_id", "evse_id", "connector_id"
        )
    }
    states = Alert.objects.filter(kind=AlertKind.CHARGER_FAULT, state__in=UNRESOLVED, subject__startswith="fault:")
    ended = states.exclude(subject__in=still_faulted)
    return resolve_ended(ended, resolution="The state left Faulted.", now=now)


def _stuck_conditions(now: dt.datetime) -> list[Condition]:
    rows = stuck_sessions(now).values(
        "pk", "charger_id", "charger__charge_point_id", "charger__site__organization_id", "charger__site__timezone",
        "started_at",
    )  # fmt: skip
    return [
        Condition(
            kind=AlertKind.SESSION_STUCK,
            subject=f"stuck:{row['pk']}",
            organization_id=row["charger__site__organization_id"],
            charger_id=row["charger_id"],
            session_id=row["pk"],
            summary=(
                f"Session {row['pk']} on {row['charger__charge_point_id']} "
                f"(started {_local(row['started_at'], row['charger__site__timezone'])}) "
                f"has shown nothing for {settings.SESSION_STUCK_AFTER} minutes"
            ),
        )
        for row in rows
    ]


def _resolve_unstuck(now: dt.datetime) -> int:
    unresolved = Alert.objects.filter(kind=AlertKind.SESSION_STUCK, state__in=UNRESOLVED)
    ended = resolve_ended(
        unresolved.exclude(session__state=SessionState.ACTIVE), resolution="The session ended.", now=now
    )
    still_stuck = stuck_sessions(now, sessions=ChargingSession.objects.filter(alerts__in=unresolved)).values("pk")
    heard = resolve_ended(
        unresolved.exclude(session__in=still_stuck), resolution="The session was heard from again.", now=now
    )
    return ended + heard


def _resolve_acknowledged_events(now: dt.datetime) -> int:
    return resolve_ended(
        Alert.objects.filter(kind=AlertKind.SECURITY_EVENT, security_event__acknowledged_at__isnull=False),
        resolution="The security event was acknowledged.",
        now=now,
    )


def _unalerted_security_conditions(now: dt.datetime) -> list[Condition]:
    events = (
        SecurityEvent.objects.filter(
            critical=True,
            acknowledged_at__isnull=True,
            charger__isnull=False,
            timestamp__gte=now - SECURITY_CATCH_UP,
            alerts__isnull=True,
        )
        .select_related("charger__site")
        .order_by("pk")
    )
    return [_security_condition(event) for event in events]


# --- email --------------------------------------------------------------------------------------


def recipients(alert: Alert) -> list[str]:
    """The addresses of the organization's members who subscribed to this kind of alert."""
    subscriptions = AlertSubscription.objects.filter(
        organization_id=alert.organization_id,
        user__is_active=True,
        user__memberships__organization_id=alert.organization_id,
        user__memberships__role__in=ALERTED_ROLES,
    ).select_related("user")
    return sorted({s.user.email for s in subscriptions if s.wants(alert.kind) and s.user.email})


def notify_alert(alert_id: int) -> int:
    """Email a new alert to its subscribers, once; returns how many were emailed."""
    alert = (
        Alert.objects.filter(pk=alert_id, notified_at__isnull=True)
        .select_related("organization", "charger__site")
        .first()
    )
    if alert is None:
        return 0
    addresses = recipients(alert)
    if addresses:
        zone_name = alert.charger.site.timezone if alert.charger else "UTC"
        link = settings.CSMS_BASE_URL.rstrip("/") + reverse("admin:reports_alert_change", args=[alert.pk])
        subject = f"[{alert.organization.name}] {alert.get_kind_display()}: {alert.summary}"[:200]
        body = (
            f"{alert.summary}\n\nRaised {_local(alert.raised_at, zone_name)}.\n\n"
            f"Acknowledge or resolve it here: {link}\n\n"
            f"You receive this because you subscribed to {alert.organization.name}'s alerts."
        )
        send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in addresses])
    Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
    return len(addresses)
