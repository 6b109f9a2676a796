"""Rules for commands that name a transaction (see sites.command_rules): only charging knows
the sessions, so it registers these with the outbound port when the app is ready."""

from django.core.exceptions import ValidationError

from charging.models import ChargingSession, SessionState
from sites.command_rules import register_command_rule
from sites.models import Charger


def active_transaction_ids(charger: Charger, *, connector_id: int | None = None) -> list[int]:
    """The 1.6 transaction ids of the charger's sessions in progress (on one connector if given)."""
    sessions = ChargingSession.objects.filter(
        charger_id=charger.pk, state=SessionState.ACTIVE, transaction_id__isnull=False
    )
    if connector_id is not None:
        sessions = sessions.filter(connector__connector_id=connector_id, connector__evse_id__isnull=True)
    return sorted(sessions.values_list("transaction_id", flat=True))


def _describe(transaction_ids: list[int]) -> str:
    return ", ".join(str(number) for number in transaction_ids) or "none"


def check_remote_stop_transaction(charger: Charger, payload: dict) -> None:
    """RemoteStopTransaction (1.6 sec. 5.12): one of this charger's transactions in progress;
    any other id would stop nothing, or, worse, whatever the charger happens to number so."""
    transaction_id = payload.get("transactionId")
    active = active_transaction_ids(charger)
    if transaction_id not in active:
        raise ValidationError(
            "transactionId %(transaction)s is not a transaction in progress on %(charger)s (in progress: %(active)s).",
            code="transaction",
            params={"transaction": transaction_id, "charger": charger.charge_point_id, "active": _describe(active)},
        )


def check_charging_profile_transaction(charger: Charger, payload: dict) -> None:
    """SetChargingProfile with a transactionId (a TxProfile, 1.6 sec. 3.13.1): the charger
    discards it unless that transaction is in progress on the profile's connector."""
    transaction_id = (payload.get("csChargingProfiles") or {}).get("transactionId")
    if transaction_id is None:
        return
    connector_id = payload.get("connectorId")
    active = active_transaction_ids(charger, connector_id=connector_id)
    if transaction_id not in active:
        raise ValidationError(
            "transactionId %(transaction)s is not in progress on connector %(connector)s of %(charger)s "
            "(in progress there: %(active)s).",
            code="transaction",
            params={
                "transaction": transaction_id,
                "connector": connector_id,
                "charger": charger.charge_point_id,
                "active": _describe(active),
            },
        )


def register() -> None:
    register_command_rule("RemoteStopTransaction", check_remote_stop_transaction)
    register_command_rule("SetChargingProfile", check_charging_profile_transaction)
