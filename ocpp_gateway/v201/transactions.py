"""OCPP 2.0.1 transaction messages (2.0.1 edition 3, part 2: C01 Authorize, E TransactionEvent,
J01 MeterValues) mapped to the charging domain's neutral values, once per message, and the
domain's answers mapped back to 2.0.1 payloads. The handlers (`transaction_handlers`) send the
neutral values through the seam; `charging.services` writes them on the same ChargingSession
as 1.6 transactions."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from charging.measurands import DEFAULT_CONTEXT, DEFAULT_MEASURAND, WH
from charging.models import TransactionEventKind
from charging.services import (
    MeterReading,
    MeterReport,
    MeterSnapshot,
    TokenCheck,
    TokenDecision,
    TransactionEventIn,
    TransactionEventOutcome,
)
from ocpp_gateway.timestamps import ocpp_time, parse_timestamp
from ocpp_gateway.v201.rules import GROUP_TOKEN_TYPE

# AuthorizationStatusEnumType: a token we have no record of is Unknown in 2.0.1 (1.6: Invalid).
UNKNOWN = "Unknown"

# TransactionEventEnumType -> where the event falls in its transaction.
EVENT_KINDS = {
    "Started": TransactionEventKind.STARTED,
    "Updated": TransactionEventKind.UPDATED,
    "Ended": TransactionEventKind.ENDED,
}
# TriggerReasonEnumType: the event's idToken is the one that ended the authorization (E07.FR.02).
STOP_AUTHORIZED = "StopAuthorized"
# EVSEType: EVSEs and their connectors count from 1 (part 2, 2.1); a transaction is on one.
FIRST_CONNECTOR = 1
# MeterValuesRequest.evseId 0 is the station's main meter (J01.FR.03); a domain connector 0 too.
MAIN_METER = 0


def id_token_info(decision: TokenDecision) -> dict:
    """IdTokenInfoType: the status (C01.FR.07), the token's expiry as how long the station may
    cache it (C10.FR.13), its group when it has one (C01.FR.06, C09.FR.02, E01.FR.12), the EVSEs
    it may charge at when not all (C01.FR.19/20), its chargingPriority when not the default."""
    body: dict = {"status": decision.status if decision.known else UNKNOWN}
    if decision.evse_ids:
        body["evseId"] = list(decision.evse_ids)
    if decision.expires_at is not None:
        body["cacheExpiryDateTime"] = ocpp_time(decision.expires_at)
    if decision.parent:
        body["groupIdToken"] = {"idToken": decision.parent, "type": GROUP_TOKEN_TYPE}
    if decision.priority:  # 0 is the default: left out
        body["chargingPriority"] = decision.priority
    return body


def token_check(charger_id: int, payload: dict) -> TokenCheck:
    """AuthorizeRequest (C01): any idToken type; the token text is what identifies it (compared
    case-insensitively, like 1.6 idTags)."""
    return TokenCheck(charger_id, payload["idToken"]["idToken"])


def reading_value(value: float | int, multiplier: int) -> str:
    """SampledValueType.value is a number, scaled by 10^unitOfMeasure.multiplier; the domain
    keeps readings as decimal text (plain notation, no exponent)."""
    try:
        scaled = Decimal(str(value)).scaleb(multiplier)
    except (InvalidOperation, ValueError):
        return str(value)
    return format(scaled, "f")


def sampled_reading(sampled: dict) -> MeterReading:
    """SampledValueType with the spec's defaults: measurand Energy.Active.Import.Register,
    context Sample.Periodic, unit Wh for an energy measurand (UnitOfMeasureType), multiplier 0.
    A signed meter value also carries the number, which is what the domain reads; the signed
    data stays in the event as sent."""
    measurand = sampled.get("measurand", DEFAULT_MEASURAND)
    unit_of_measure = sampled.get("unitOfMeasure", {})
    unit = unit_of_measure.get("unit", WH if measurand.startswith("Energy") else "")
    return MeterReading(
        value=reading_value(sampled["value"], unit_of_measure.get("multiplier", 0)),
        measurand=measurand,
        unit=unit,
        context=sampled.get("context", DEFAULT_CONTEXT),
        phase=sampled.get("phase", ""),
        location=sampled.get("location", ""),
    )


def snapshots(meter_values: list[dict]) -> list[MeterSnapshot]:
    """MeterValueType list: each timestamp applies to all its sampled values (J01.FR.17)."""
    return [
        MeterSnapshot(
            timestamp=parse_timestamp(item["timestamp"]),
            readings=[sampled_reading(sampled) for sampled in item["sampledValue"]],
        )
        for item in meter_values
    ]


def transaction_event(charger_id: int, payload: dict, received_at: dt.datetime) -> TransactionEventIn:
    """TransactionEventRequest (E01-E12). The station names the transaction (E01.FR.08) and
    numbers its events (E01.FR.07, E 1.3.2); evse is sent once, when known (E01.FR.16), its
    connector defaulting to the first; the idToken when authorization starts or ends (E03.FR.01,
    E07.FR.02); stoppedReason omitted means Local (E 1.5; the domain's default); an event queued
    while offline says so (E08.FR.07, E11.FR.02)."""
    info = payload["transactionInfo"]
    evse = payload.get("evse") or {}
    evse_id = evse.get("id") or None
    id_token = payload.get("idToken") or {}
    return TransactionEventIn(
        charger_id=charger_id,
        transaction_id=info["transactionId"],
        seq_no=payload["seqNo"],
        kind=EVENT_KINDS[payload["eventType"]],
        timestamp=parse_timestamp(payload["timestamp"]),
        received_at=received_at,
        trigger_reason=payload["triggerReason"],
        offline=payload.get("offline", False),
        evse_id=evse_id,
        connector_id=(evse.get("connectorId") or FIRST_CONNECTOR) if evse_id is not None else None,
        token=id_token.get("idToken", ""),
        token_ends_authorization=payload["triggerReason"] == STOP_AUTHORIZED,
        readings=snapshots(payload.get("meterValue", [])),
        charging_state=info.get("chargingState", ""),
        stop_reason=info.get("stoppedReason", ""),
        remote_start_id=info.get("remoteStartId"),
        reservation_id=payload.get("reservationId"),
        payload=payload,
    )


def transaction_event_reply(outcome: TransactionEventOutcome) -> dict:
    """TransactionEventResponse: idTokenInfo when the request carried an idToken (E01.FR.12,
    E02.FR.02, E03.FR.02, C09.FR.12); the total cost when the event ended a transaction whose
    cost is known (I03.FR.02; 0.00 when free, I03.FR.04); to a resent event, the answer it had
    the first time."""
    reply: dict = {}
    if outcome.total_cost is not None:
        reply["totalCost"] = float(outcome.total_cost)
    if outcome.decision is not None:
        reply["idTokenInfo"] = id_token_info(outcome.decision)
    return reply


def meter_report(charger_id: int, charge_point_id: str, payload: dict, received_at: dt.datetime) -> MeterReport:
    """MeterValuesRequest (J01): of an EVSE (recorded on its first connector: the message names
    no connector) or, with evseId 0, of the station's main meter (J01.FR.03)."""
    evse_id = payload["evseId"]
    return MeterReport(
        charger_id=charger_id,
        connector_id=FIRST_CONNECTOR if evse_id != MAIN_METER else MAIN_METER,
        evse_id=evse_id if evse_id != MAIN_METER else None,
        transaction_id=None,
        snapshots=snapshots(payload["meterValue"]),
        received_at=received_at,
        charge_point_id=charge_point_id,
        message="MeterValues",
    )
