"""What an operator may correct on a session, each a named action with a reason, audited:
closing a session whose stop never came ("zombie") at a time of their choosing, and marking a
flagged session reviewed. Meter readings, times and the charger stay as the charger reported
them; nothing here edits them. Also the operator's requests to the charger about a session
(stop it, tell us about it), which go through the outbound port like every command."""

import datetime as dt
from functools import partial
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.services import record_activity, snapshot
from charging.models import ChargingSession, SessionState
from charging.services.shared import transaction_ref
from charging.signals import session_completed
from sites.commands import request_command
from sites.commands.intents import GetTransactionStatus, RemoteStop, TriggerableMessage, TriggerMessage
from sites.commands.rules import intent_kinds_for
from sites.models import Command

# The stop reason of a session an operator closed (both versions' "other" reason).
OPERATOR_STOP_REASON = "Other"

AUDITED_FIELDS = ("state", "stopped_at", "stop_received_at", "meter_stop_wh", "stop_reason", "needs_review",
                  "review_notes")  # fmt: skip


def _actor_name(actor) -> str:
    return getattr(actor, "email", "") or str(actor or "the system")


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason: it is kept with the session and in the audit trail.", code="reason")
    return reason


def _audited(session: ChargingSession) -> dict:
    values = snapshot(session)
    return {key: values.get(key) for key in AUDITED_FIELDS}


def _locked(session: ChargingSession) -> ChargingSession:
    # The session's row only: its charger and connector rows are busy with the charger's messages.
    return ChargingSession.objects.select_for_update().get(pk=session.pk)


@transaction.atomic
def close_session_by_operator(
    *, session: ChargingSession, stopped_at: dt.datetime, reason: str, actor, via: str = "admin"
) -> ChargingSession:
    """Close an active session whose stop never came, as if it had stopped at `stopped_at`
    (charger's clock, not before its start nor in the future): its energy is what its readings
    showed by then, the reason is noted on it, the audit trail records who and why, and billing
    prices it as any completed session."""
    reason = _required_reason(reason)
    session = _locked(session)
    if session.state != SessionState.ACTIVE:
        raise ValidationError("This session is already closed.", code="closed")
    now = timezone.now()
    if stopped_at < session.started_at:
        raise ValidationError("The stop time is before the session's start.", code="stopped_at")
    if stopped_at > now:
        raise ValidationError("The stop time is in the future.", code="stopped_at")
    before = _audited(session)
    session.state = SessionState.COMPLETED
    session.stopped_at = stopped_at
    session.stop_received_at = now
    session.meter_stop_wh = session.meter_start_wh + session.energy_wh  # the last reading we have
    session.stop_reason = OPERATOR_STOP_REASON
    local = stopped_at.astimezone(ZoneInfo(session.charger.site.timezone))
    note = f"closed by {_actor_name(actor)} (operator) at {local:%Y-%m-%d %H:%M:%S %Z}: {reason}"
    session.review_notes = "\n".join(filter(None, [session.review_notes, note]))
    session.save(update_fields=list(AUDITED_FIELDS))
    changes = {key: [before[key], value] for key, value in _audited(session).items() if before[key] != value}
    record_activity(actor=actor, verb="closed", obj=session, via=via, changes={**changes, "reason": reason})
    transaction.on_commit(partial(session_completed.send, sender=ChargingSession, session_ids=[session.pk]))
    return session


@transaction.atomic
def mark_session_reviewed(*, session: ChargingSession, note: str, actor, via: str = "admin") -> ChargingSession:
    """Clear a session's review flag, saying what was checked; its notes stay."""
    note = _required_reason(note)
    session = _locked(session)
    if not session.needs_review:
        raise ValidationError("This session is not flagged for review.", code="not_flagged")
    before = _audited(session)
    session.needs_review = False
    session.review_notes = "\n".join(filter(None, [session.review_notes, f"reviewed by {_actor_name(actor)}: {note}"]))
    session.save(update_fields=["needs_review", "review_notes"])
    changes = {key: [before[key], value] for key, value in _audited(session).items() if before[key] != value}
    record_activity(actor=actor, verb="reviewed", obj=session, via=via, changes={**changes, "reason": note})
    return session


# --- Asking the charger -----------------------------------------------------------------------


@transaction.atomic
def request_stop(*, session: ChargingSession, requested_by, via: str = Command.Via.ADMIN, reason: str = "") -> Command:
    """Ask the charger to stop the session (RemoteStopTransaction / RequestStopTransaction: the
    charger's version decides the wire form). A reason, when given, goes to the audit trail
    with the command's number."""
    if session.state != SessionState.ACTIVE:
        raise ValidationError("This session is not active.", code="closed")
    intent = RemoteStop(transaction_id=str(transaction_ref(session)))
    command = request_command(charger=session.charger, intent=intent, requested_by=requested_by, via=via)
    if reason.strip():
        record_activity(actor=requested_by, verb="stop requested", obj=session, via=via,
                        changes={"reason": reason.strip(), "command": command.pk})  # fmt: skip
    return command


def status_intents(session: ChargingSession) -> list[TriggerMessage | GetTransactionStatus]:
    """What asks the charger whether the session is still going: the transaction's status where
    its version can say (GetTransactionStatus), else a fresh meter value and status of its
    connector (TriggerMessage)."""
    if GetTransactionStatus.kind in intent_kinds_for(session.charger):
        return [GetTransactionStatus(transaction_id=str(transaction_ref(session)))]
    connector = session.connector
    where = {"connector": connector.connector_id, "evse": connector.evse_id}
    return [
        TriggerMessage(message=TriggerableMessage.METER_VALUES, **where),
        TriggerMessage(message=TriggerableMessage.STATUS, **where),
    ]


def ask_charger_about(*, session: ChargingSession, requested_by, via: str = Command.Via.ADMIN) -> list[Command]:
    """Ask the charger about a session that has gone quiet (see status_intents)."""
    return [
        request_command(charger=session.charger, intent=intent, requested_by=requested_by, via=via)
        for intent in status_intents(session)
    ]
