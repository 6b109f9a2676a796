"""The 1.6 adapter of the session core: each payload mapped once to the neutral values, each
answer mapped back to the 1.6 shape (no database: the domain is tested in charging/tests)."""

import datetime as dt

from charging.services import MeterReading, SessionOpened, TokenCheck, TokenDecision
from ocpp_gateway.v16 import transactions as v16

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
RECEIVED = T0 + dt.timedelta(seconds=1)


def test_sampled_values_get_the_spec_defaults_and_signed_data_is_marked():
    [snapshot] = v16.snapshots(
        [
            {
                "timestamp": "2025-06-01T12:00:00Z",
                "sampledValue": [
                    {"value": "10"},
                    {"value": "blob", "format": "SignedData", "measurand": "Power.Active.Import", "unit": "kW"},
                    {"value": "5", "format": "Raw", "phase": "L1", "location": "Outlet", "context": "Sample.Clock"},
                ],
            }
        ]
    )
    assert snapshot.timestamp == T0
    assert snapshot.readings == [
        MeterReading("10", "Energy.Active.Import.Register", "Wh", "Sample.Periodic", "", "", signed=False),
        MeterReading("blob", "Power.Active.Import", "kW", "Sample.Periodic", "", "", signed=True),
        MeterReading("5", "Energy.Active.Import.Register", "Wh", "Sample.Clock", "L1", "Outlet", signed=False),
    ]


def test_start_transaction_maps_to_a_session_start_with_an_id_we_issue():
    payload = {"connectorId": 2, "idTag": "TAG", "meterStart": 77, "timestamp": "2025-06-01T12:00:00Z"}
    start = v16.session_start(5, payload, RECEIVED)
    assert (start.charger_id, start.evse_id, start.connector_id, start.token) == (5, None, 2, "TAG")
    assert (start.meter_start_wh, start.started_at, start.received_at) == (77, T0, RECEIVED)
    assert (start.reservation_id, start.transaction_id) == (None, None)
    assert v16.session_start(5, {**payload, "reservationId": 9}, RECEIVED).reservation_id == 9


def test_start_reply():
    opened = SessionOpened(42, TokenDecision("Accepted", T0, "PARENT"))
    assert v16.start_reply(opened) == {
        "transactionId": 42,
        "idTagInfo": {"status": "Accepted", "expiryDate": "2025-06-01T12:00:00.000Z", "parentIdTag": "PARENT"},
    }
    assert v16.start_reply(SessionOpened(1, TokenDecision("Invalid"))) == {
        "transactionId": 1,
        "idTagInfo": {"status": "Invalid"},
    }


def test_stop_transaction_maps_to_a_session_stop_keeping_its_data_as_sent():
    data = [{"timestamp": "2025-06-01T12:00:00Z", "sampledValue": [{"value": "6000", "context": "Transaction.End"}]}]
    payload = {"transactionId": 7, "meterStop": 6000, "timestamp": "2025-06-01T12:00:00Z", "transactionData": data}
    stop = v16.session_stop(5, payload, RECEIVED)
    assert (stop.charger_id, stop.transaction_id, stop.meter_stop_wh, stop.stopped_at) == (5, 7, 6000, T0)
    assert (stop.token, stop.reason, stop.message) == ("", "", "StopTransaction")  # the domain says Local
    assert stop.readings[0].readings[0].context == "Transaction.End"
    assert stop.readings_as_sent is data
    with_tag = v16.session_stop(5, {**payload, "idTag": "TAG", "reason": "Remote"}, RECEIVED)
    assert (with_tag.token, with_tag.reason) == ("TAG", "Remote")


def test_stop_reply_carries_id_tag_info_only_when_the_stop_named_a_tag():
    assert v16.stop_reply(None) == {}
    assert v16.stop_reply(TokenDecision("ConcurrentTx")) == {"idTagInfo": {"status": "ConcurrentTx"}}


def test_meter_values_map_to_a_meter_report():
    payload = {
        "connectorId": 0,
        "meterValue": [{"timestamp": "2025-06-01T12:00:00Z", "sampledValue": [{"value": "1"}]}],
    }
    report = v16.meter_report(5, "CP-1", payload, RECEIVED)
    assert (report.charger_id, report.connector_id, report.evse_id, report.transaction_id) == (5, 0, None, None)
    assert (report.charge_point_id, report.message, report.received_at) == ("CP-1", "MeterValues", RECEIVED)
    assert v16.meter_report(5, "CP-1", {**payload, "transactionId": 3}, RECEIVED).transaction_id == 3


def test_authorize_maps_to_a_token_check():
    assert v16.token_check(5, {"idTag": "TAG"}) == TokenCheck(5, "TAG")


def test_a_token_that_may_not_charge_here_is_invalid_in_1_6():
    """1.6 sec. 7.2 has no NotAtThisLocation: the charger hears Invalid."""
    assert v16.id_tag_info(TokenDecision("NotAtThisLocation", evse_ids=())) == {"status": "Invalid"}
    assert v16.id_tag_info(TokenDecision("Accepted", evse_ids=(2,))) == {"status": "Accepted"}
