"""OCPP 1.6 transaction messages (Authorize, StartTransaction, MeterValues, StopTransaction;
1.6 edition 2, sec. 4.1, 4.7, 4.8, 4.10) mapped to the charging domain's neutral values, once
per message, and the domain's answers mapped back to 1.6 payloads. The group commit writes the
neutral values with the domain's batch primitives (`charging.services`)."""

import datetime as dt

from charging.services import (
    NOT_AT_THIS_LOCATION,
    MeterReading,
    MeterReport,
    MeterSnapshot,
    SessionOpened,
    SessionStart,
    SessionStop,
    TokenCheck,
    TokenDecision,
)
from ocpp_gateway.timestamps import ocpp_time, parse_timestamp

# 1.6 sec. 7.2 AuthorizationStatus: what a token the charger may not accept is answered.
INVALID = "Invalid"
# 1.6 sec. 7.43 SampledValue: format "SignedData" is signed meter data, not a number.
SIGNED_DATA = "SignedData"


def id_tag_info(decision: TokenDecision) -> dict:
    """1.6 sec. 7.21 IdTagInfo. AuthorizationStatus (sec. 7.2) has no word for a token that
    may not charge here: Invalid."""
    status = INVALID if decision.status == NOT_AT_THIS_LOCATION else decision.status
    body: dict = {"status": status}
    if decision.expires_at is not None:
        body["expiryDate"] = ocpp_time(decision.expires_at)
    if decision.parent:
        body["parentIdTag"] = decision.parent
    return body


def token_check(charger_id: int, payload: dict) -> TokenCheck:
    """Authorize.req (1.6 sec. 6.1)."""
    return TokenCheck(charger_id, payload["idTag"])


def snapshots(meter_values: list[dict]) -> list[MeterSnapshot]:
    """1.6 sec. 7.17 MeterValue list, its omitted SampledValue fields as the spec defaults them
    (sec. 7.43: Energy.Active.Import.Register, Wh, Sample.Periodic, Raw)."""
    return [
        MeterSnapshot(
            timestamp=parse_timestamp(item["timestamp"]),
            readings=[
                MeterReading(
                    value=sampled["value"],
                    measurand=sampled.get("measurand", "Energy.Active.Import.Register"),
                    unit=sampled.get("unit", "Wh"),
                    context=sampled.get("context", "Sample.Periodic"),
                    phase=sampled.get("phase", ""),
                    location=sampled.get("location", ""),
                    signed=sampled.get("format") == SIGNED_DATA,
                )
                for sampled in item["sampledValue"]
            ],
        )
        for item in meter_values
    ]


def session_start(charger_id: int, payload: dict, received_at: dt.datetime) -> SessionStart:
    """StartTransaction.req (1.6 sec. 6.45): connectors are numbered per charger, and the
    central system issues the transaction id."""
    return SessionStart(
        charger_id=charger_id,
        connector_id=payload["connectorId"],
        token=payload["idTag"],
        meter_start_wh=payload["meterStart"],
        started_at=parse_timestamp(payload["timestamp"]),
        received_at=received_at,
        reservation_id=payload.get("reservationId"),
    )


def start_reply(opened: SessionOpened) -> dict:
    """StartTransaction.conf (1.6 sec. 6.46)."""
    return {"transactionId": opened.transaction_id, "idTagInfo": id_tag_info(opened.decision)}


def meter_report(charger_id: int, charge_point_id: str, payload: dict, received_at: dt.datetime) -> MeterReport:
    """MeterValues.req (1.6 sec. 6.31): connector 0 is the charger's main meter."""
    return MeterReport(
        charger_id=charger_id,
        connector_id=payload["connectorId"],
        transaction_id=payload.get("transactionId"),
        snapshots=snapshots(payload["meterValue"]),
        received_at=received_at,
        charge_point_id=charge_point_id,
        message="MeterValues",
    )


def session_stop(charger_id: int, payload: dict, received_at: dt.datetime) -> SessionStop:
    """StopTransaction.req (1.6 sec. 6.49); "reason" omitted means Local (the domain's default)."""
    transaction_data = payload.get("transactionData", [])
    return SessionStop(
        charger_id=charger_id,
        transaction_id=payload["transactionId"],
        meter_stop_wh=payload["meterStop"],
        stopped_at=parse_timestamp(payload["timestamp"]),
        received_at=received_at,
        token=payload.get("idTag", ""),
        reason=payload.get("reason", ""),
        readings=snapshots(transaction_data),
        readings_as_sent=transaction_data,
        message="StopTransaction",
    )


def stop_reply(decision: TokenDecision | None) -> dict:
    """StopTransaction.conf (1.6 sec. 6.50): idTagInfo only when the request had an idTag."""
    return {"idTagInfo": id_tag_info(decision)} if decision is not None else {}
