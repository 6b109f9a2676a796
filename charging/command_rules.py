"""Rules for commands that name a transaction or carry a charging profile (see
sites.commands.rules): only charging knows the sessions and the profiles' purposes, so it
registers these with the outbound port when the app is ready."""

from django.core.exceptions import ValidationError
from django.db.models import Q

from charging.models import ChargingProfile, ChargingSession, SessionState
from sites.commands.intents import Intent, RemoteStart, RemoteStop, SetChargingProfile
from sites.commands.rules import register_command_rule
from sites.models import Charger


def active_transaction_ids(
    charger: Charger, *, connector_id: int | None = None, evse_id: int | None = None
) -> list[str]:
    """The charger-side transaction ids of the charger's sessions in progress, as text: ours
    (1.6 integers) or the charger's own (2.0.1 strings). On one connector if given: connector n
    of no EVSE (1.6), connector n of EVSE `evse_id`, or, without an EVSE, also EVSE n (how
    2.0.1 addresses a profile or a start by EVSE alone)."""
    sessions = ChargingSession.objects.filter(charger_id=charger.pk, state=SessionState.ACTIVE)
    if connector_id is not None:
        if evse_id is not None:
            sessions = sessions.filter(connector__evse_id=evse_id, connector__connector_id=connector_id)
        else:
            sessions = sessions.filter(
                Q(connector__evse_id__isnull=True, connector__connector_id=connector_id)
                | Q(connector__evse_id=connector_id)
            )
    return sorted(
        str(number) if number is not None else (uid or "")
        for number, uid in sessions.values_list("transaction_id", "transaction_uid")
    )


def _describe(transaction_ids: list[str]) -> str:
    return ", ".join(transaction_ids) or "none"


def _in_progress(transaction_id: str | None, active: list[str]) -> bool:
    return transaction_id is not None and transaction_id in active


def check_remote_stop(charger: Charger, intent: Intent) -> None:
    """Remote stop (1.6 sec. 5.12, 2.0.1 F03): one of this charger's transactions in progress; any other
    id would stop nothing, or, worse, whatever the charger happens to number so."""
    transaction_id = getattr(intent, "transaction_id", None)
    active = active_transaction_ids(charger)
    if not _in_progress(transaction_id, active):
        raise ValidationError(
            "Transaction %(transaction)s is not a transaction in progress on %(charger)s (in progress: %(active)s).",
            code="transaction",
            params={"transaction": transaction_id, "charger": charger.charge_point_id, "active": _describe(active)},
        )


def check_charging_profile_transaction(charger: Charger, intent: Intent) -> None:
    """A transaction profile (1.6 sec. 3.13.1): the charger discards it unless that transaction
    is in progress on the profile's connector."""
    if not isinstance(intent, SetChargingProfile) or intent.profile.transaction_id is None:
        return
    transaction_id = intent.profile.transaction_id
    active = active_transaction_ids(charger, connector_id=intent.connector, evse_id=intent.evse)
    if not _in_progress(transaction_id, active):
        raise ValidationError(
            "Transaction %(transaction)s is not in progress on connector %(connector)s of %(charger)s "
            "(in progress there: %(active)s).",
            code="transaction",
            params={
                "transaction": transaction_id,
                "connector": intent.connector,
                "charger": charger.charge_point_id,
                "active": _describe(active),
            },
        )


def check_charging_profile_purpose(charger: Charger, intent: Intent) -> None:
    """1.6 sec. 3.13.1: a charge-point maximum profile is set on connector 0 only, a
    transaction profile on a connector (> 0) only."""
    if not isinstance(intent, SetChargingProfile):
        return
    purpose = intent.profile.purpose
    if purpose == ChargingProfile.Purpose.CHARGE_POINT_MAX and intent.connector != 0:
        raise ValidationError("A charge point maximum profile is set on connector 0 only.", code="connector")
    if purpose == ChargingProfile.Purpose.TX and intent.connector == 0:
        raise ValidationError("A transaction profile is set on a connector (1 or more), not 0.", code="connector")


def check_remote_start_profile(charger: Charger, intent: Intent) -> None:
    """A remote start's profile (1.6 sec. 5.11) is a transaction profile."""
    profile = getattr(intent, "charging_profile", None)
    if profile is not None and profile.purpose != ChargingProfile.Purpose.TX:
        raise ValidationError("The charging profile of a remote start must be a transaction profile.", code="profile")


def register() -> None:
    register_command_rule(RemoteStop.kind, check_remote_stop)
    register_command_rule(SetChargingProfile.kind, check_charging_profile_purpose)
    register_command_rule(SetChargingProfile.kind, check_charging_profile_transaction)
    register_command_rule(RemoteStart.kind, check_remote_start_profile)
