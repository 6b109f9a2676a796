"""The 2.0.1 adapter of the transaction core: each payload mapped once to the neutral values,
each answer mapped back to the 2.0.1 shape (no database: the domain is tested in charging/tests),
and every request and answer checked against the 2.0.1 schemas."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import fastjsonschema
import ocpp
import pytest

from charging.services import MeterReading, TokenDecision, TransactionEventOutcome
from ocpp_gateway.rpc import RpcError
from ocpp_gateway.schemas import SCHEMAS
from ocpp_gateway.v201 import transactions as v201
from ocpp_gateway.v201.handlers import HANDLERS

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
RECEIVED = T0 + dt.timedelta(seconds=1)
SCHEMA = SCHEMAS["ocpp2.0.1"]


def test_the_transaction_handlers_are_registered():
    assert {"Authorize", "TransactionEvent", "MeterValues"} <= HANDLERS.keys()


def test_sampled_values_get_the_spec_defaults_and_the_multiplier():
    [snapshot] = v201.snapshots(
        [
            {
                "timestamp": "2025-06-01T12:00:00Z",
                "sampledValue": [
                    {"value": 1234.5},
                    {"value": 12, "unitOfMeasure": {"unit": "Wh", "multiplier": 3}},
                    {"value": 7.4, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
                    {
                        "value": 230,
                        "measurand": "Voltage",
                        "phase": "L1-N",
                        "location": "Outlet",
                        "context": "Transaction.Begin",
                    },
                    {"value": 2.5, "unitOfMeasure": {"unit": "kWh", "multiplier": -1}},
                ],
            }
        ]
    )
    assert snapshot.timestamp == T0
    assert snapshot.readings == [
        MeterReading("1234.5", "Energy.Active.Import.Register", "Wh", "Sample.Periodic"),
        MeterReading("12000", "Energy.Active.Import.Register", "Wh", "Sample.Periodic"),
        MeterReading("7.4", "Power.Active.Import", "kW", "Sample.Periodic"),
        MeterReading("230", "Voltage", "", "Transaction.Begin", "L1-N", "Outlet"),
        MeterReading("0.25", "Energy.Active.Import.Register", "kWh", "Sample.Periodic"),
    ]


def _event(**changes) -> dict:
    payload = {
        "eventType": "Started",
        "timestamp": "2025-06-01T12:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "TX-1", "chargingState": "Charging", "remoteStartId": 7},
        "evse": {"id": 2},
        "idToken": {"idToken": "TAG", "type": "ISO14443"},
        "reservationId": 9,
        "meterValue": [
            {
                "timestamp": "2025-06-01T12:00:00Z",
                "sampledValue": [{"value": 1000, "context": "Transaction.Begin"}],
            }
        ],
    }
    payload.update(changes)
    SCHEMA.validate_call("TransactionEvent", payload, "m1")
    return payload


def test_a_started_event_maps_to_a_neutral_event():
    payload = _event()
    event = v201.transaction_event(5, payload, RECEIVED)
    assert (event.charger_id, event.transaction_id, event.seq_no, event.kind) == (5, "TX-1", 0, "started")
    assert (event.timestamp, event.received_at, event.offline) == (T0, RECEIVED, False)
    assert (event.evse_id, event.connector_id) == (2, 1)  # connectorId defaults to the first
    assert (event.token, event.token_ends_authorization, event.trigger_reason) == ("TAG", False, "Authorized")
    assert (event.charging_state, event.stop_reason) == ("Charging", "")
    assert (event.remote_start_id, event.reservation_id) == (7, 9)
    assert event.readings[0].readings[0].value == "1000"
    assert event.payload is payload


def test_an_ended_event_without_evse_or_token():
    payload = _event(eventType="Ended", seqNo=3, offline=True, triggerReason="EVDeparted",
                     transactionInfo={"transactionId": "TX-1", "stoppedReason": "EVDisconnected"})  # fmt: skip
    del payload["evse"], payload["idToken"], payload["meterValue"], payload["reservationId"]
    event = v201.transaction_event(5, payload, RECEIVED)
    assert (event.kind, event.seq_no, event.offline) == ("ended", 3, True)
    assert (event.evse_id, event.connector_id, event.token, event.readings) == (None, None, "", [])
    assert (event.stop_reason, event.remote_start_id, event.reservation_id) == ("EVDisconnected", None, None)


def test_a_stop_authorized_token_ends_the_authorization():
    event = v201.transaction_event(5, _event(eventType="Updated", triggerReason="StopAuthorized"), RECEIVED)
    assert event.token_ends_authorization


def test_id_token_info_and_the_replies_match_the_schemas():
    accepted = TokenDecision("Accepted", T0, "GROUP")
    info = v201.id_token_info(accepted)
    assert info == {
        "status": "Accepted",
        "cacheExpiryDateTime": "2025-06-01T12:00:00.000Z",
        "groupIdToken": {"idToken": "GROUP", "type": "Central"},
    }
    assert v201.id_token_info(TokenDecision("Invalid", known=False)) == {"status": "Unknown"}
    assert v201.id_token_info(TokenDecision("Invalid")) == {"status": "Invalid"}
    assert v201.id_token_info(TokenDecision("Blocked")) == {"status": "Blocked"}
    assert v201.transaction_event_reply(TransactionEventOutcome(None)) == {}
    reply = v201.transaction_event_reply(TransactionEventOutcome(accepted, duplicate=True))
    assert reply == {"idTokenInfo": info}
    _validate_result("TransactionEvent", reply)
    _validate_result("Authorize", {"idTokenInfo": info})


def test_the_evses_a_token_may_use_and_the_total_cost_match_the_schemas():
    """C01.FR.20/22: the EVSEs listed when not all; NotAtThisLocation as is. I03.FR.02: the
    total cost in the answer to the last event."""
    restricted = TokenDecision("Accepted", evse_ids=(1, 3))
    assert v201.id_token_info(restricted) == {"status": "Accepted", "evseId": [1, 3]}
    assert v201.id_token_info(TokenDecision("NotAtThisLocation")) == {"status": "NotAtThisLocation"}
    reply = v201.transaction_event_reply(TransactionEventOutcome(restricted, total_cost=Decimal("4.20")))
    assert reply == {"totalCost": 4.2, "idTokenInfo": {"status": "Accepted", "evseId": [1, 3]}}
    _validate_result("TransactionEvent", reply)
    _validate_result("Authorize", {"idTokenInfo": v201.id_token_info(TokenDecision("NotAtThisLocation"))})
    assert v201.transaction_event_reply(TransactionEventOutcome(None, total_cost=Decimal("0"))) == {"totalCost": 0.0}


def test_a_priority_other_than_the_default_is_told():
    assert v201.id_token_info(TokenDecision("Accepted", priority=7)) == {"status": "Accepted", "chargingPriority": 7}
    assert v201.id_token_info(TokenDecision("Accepted", priority=0)) == {"status": "Accepted"}
    _validate_result("Authorize", {"idTokenInfo": v201.id_token_info(TokenDecision("Accepted", priority=-9))})


def _validate_result(action: str, payload: dict) -> None:
    path = Path(ocpp.__file__).parent / "v201" / "schemas" / f"{action}Response.json"
    fastjsonschema.compile(json.loads(path.read_text(encoding="utf-8")))(payload)


def test_authorize_maps_to_a_token_check_of_any_type():
    payload = {"idToken": {"idToken": "abc-123", "type": "eMAID"}}
    SCHEMA.validate_call("Authorize", payload, "a1")
    check = v201.token_check(5, payload)
    assert (check.charger_id, check.token) == (5, "abc-123")


def test_meter_values_of_an_evse_and_of_the_main_meter():
    values = [{"timestamp": "2025-06-01T12:00:00Z", "sampledValue": [{"value": 1}]}]
    SCHEMA.validate_call("MeterValues", {"evseId": 0, "meterValue": values}, "v1")
    main = v201.meter_report(5, "CS-1", {"evseId": 0, "meterValue": values}, RECEIVED)
    assert (main.connector_id, main.evse_id, main.transaction_id) == (0, None, None)
    evse = v201.meter_report(5, "CS-1", {"evseId": 2, "meterValue": values}, RECEIVED)
    assert (evse.connector_id, evse.evse_id, evse.message, evse.charge_point_id) == (1, 2, "MeterValues", "CS-1")


def test_a_value_that_is_not_a_number_is_rejected_by_the_schema():
    with pytest.raises(RpcError):
        SCHEMA.validate_call("MeterValues", {"evseId": 1, "meterValue": [
            {"timestamp": "2025-06-01T12:00:00Z", "sampledValue": [{"value": "12"}]}]}, "v2")  # fmt: skip
