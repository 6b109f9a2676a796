"""End to end, OCPP 2.0.1 transactions: the `ocpp` library's 2.0.1 charging-station role
(which also checks our answers against the 2.0.1 response schemas) against a real
`manage.py serve` (common/live_server.py). Sessions land on the same ChargingSession as 1.6
ones: billed, listed by the sessions API, flagged for review (ACCEPTANCE R2, R4, R25)."""

import asyncio
import contextlib
import datetime as dt
import json
import urllib.request

import pytest
from ocpp.v201 import ChargePoint, call

from common.live_server import live_server
from ocpp_gateway.tests.live_chargers import connect

STATION = "DEMO-CS-201"
ACCEPTED_TOKEN = {"idToken": "DEMO-TAG-001", "type": "ISO14443"}
BLOCKED_TOKEN = {"idToken": "DEMO-TAG-BLOCKED", "type": "ISO14443"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Pricing runs in the server's own process (no broker): no Celery worker to start for it.
    with live_server(tmp_path_factory.mktemp("live201tx"), CELERY_BROKER_URL="") as running:
        # A tariff of the station alone: 0.40 per kWh, no VAT, so the cost is energy * 0.40.
        running.execute(
            "INSERT INTO billing_tariff (organization_id, name, currency, vat_percent, flat_fee, price_per_kwh, "
            "price_per_minute, idle_fee_per_minute, idle_grace_minutes) "
            "SELECT s.organization_id, 'Live 2.0.1', 'EUR', 0, 0, 0.40, 0, 0, 0 FROM sites_charger c "
            "JOIN sites_site s ON s.id = c.site_id WHERE c.charge_point_id = %s",
            (STATION,),
        )
        running.execute(
            "INSERT INTO billing_tariffassignment (tariff_id, charger_id, valid_from) "
            "SELECT t.id, c.id, '2000-01-01 00:00:00' FROM billing_tariff t, sites_charger c "
            "WHERE t.name = 'Live 2.0.1' AND c.charge_point_id = %s",
            (STATION,),
        )
        yield running


@contextlib.asynccontextmanager
async def station(server, charge_point_id: str = STATION):
    async with connect(server, charge_point_id, subprotocols=("ocpp2.0.1",)) as ws:
        role = ChargePoint(charge_point_id, ws, response_timeout=5)
        listening = asyncio.create_task(role.start())
        try:
            yield role
        finally:
            listening.cancel()


def _at(minutes_ago: float) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _energy(wh: int, at: str, context: str = "Sample.Periodic") -> list[dict]:
    return [{"timestamp": at, "sampledValue": [{"value": wh, "context": context}]}]


def _event(kind: str, tx: str, seq_no: int, at: str, trigger: str, **fields) -> call.TransactionEvent:
    info = {"transactionId": tx, **fields.pop("info", {})}
    return call.TransactionEvent(
        event_type=kind, timestamp=at, trigger_reason=trigger, seq_no=seq_no, transaction_info=info, **fields
    )


def _session(server, tx: str) -> tuple | None:
    rows = server.query(
        "SELECT s.state, s.meter_start_wh, s.meter_stop_wh, s.energy_wh, s.stop_reason, s.needs_review, "
        "s.review_notes, s.id_tag, s.id FROM charging_chargingsession s JOIN sites_charger c ON c.id = s.charger_id "
        "WHERE c.charge_point_id = %s AND s.transaction_uid = %s",
        (STATION, tx),
    )
    return rows[0] if rows else None


def test_a_full_session_is_billed_and_a_resent_event_is_answered_the_same(server):
    tx = "LIVE-TX-FULL"

    async def run() -> list:
        async with station(server) as role:
            started = _event("Started", tx, 0, _at(60), "Authorized", evse={"id": 1, "connectorId": 1},
                             id_token=ACCEPTED_TOKEN, info={"chargingState": "Charging"},
                             meter_value=_energy(10_000, _at(60), "Transaction.Begin"))  # fmt: skip
            answers = [await role.call(started), await role.call(started)]  # a resend, new message id
            updated = _event("Updated", tx, 1, _at(30), "MeterValuePeriodic", meter_value=_energy(15_000, _at(30)))
            answers += [await role.call(updated), await role.call(updated)]
            ended = _event("Ended", tx, 2, _at(1), "EVDeparted", info={"stoppedReason": "EVDisconnected"},
                           meter_value=_energy(20_000, _at(1), "Transaction.End"))  # fmt: skip
            answers += [await role.call(ended), await role.call(ended)]
            return answers

    answers = asyncio.run(run())
    assert answers[0].id_token_info["status"] == "Accepted"
    assert answers[0] == answers[1]
    assert answers[2] == answers[3]
    assert answers[2].id_token_info is None
    assert answers[4] == answers[5]
    assert answers[4].total_cost == pytest.approx(4.0)  # priced at once, 10 kWh at 0.40 (I03.FR.02)
    state, meter_start, meter_stop, energy, reason, needs_review, notes, id_tag, session_id = _session(server, tx)
    assert (state, meter_start, meter_stop, energy, reason) == ("completed", 10_000, 20_000, 10_000, "EVDisconnected")
    assert not needs_review, notes
    assert id_tag == "DEMO-TAG-001"
    assert server.query("SELECT COUNT(*) FROM charging_transactioneventrecord WHERE session_id = %s",
                        (session_id,)) == [(3,)]  # fmt: skip
    assert server.query("SELECT COUNT(*) FROM charging_metervalue WHERE session_id = %s", (session_id,)) == [(3,)]
    # Billed once, on the same ChargingSession as a 1.6 session: 10 kWh at 0.40.
    total = server.wait_for("SELECT CAST(total AS TEXT) FROM billing_sessioncost WHERE session_id = %s", "4",
                            (session_id,), timeout=10)  # fmt: skip
    assert total is not None
    assert float(total) == pytest.approx(4.0)
    assert server.query("SELECT COUNT(*) FROM billing_sessioncost WHERE session_id = %s", (session_id,)) == [(1,)]
    # Listed by the sessions API where 1.6 sessions are.
    request = urllib.request.Request(
        f"{server.base_url}/api/v1/sessions?charger__charge_point_id={STATION}",
        headers={"Authorization": f"Bearer {server.access_token()}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        listed = json.loads(response.read())
    rows = listed["results"] if isinstance(listed, dict) else listed
    [row] = [row for row in rows if row["transaction_uid"] == tx]
    assert (row["state"], row["energy_wh"]) == ("completed", 10_000)


def test_offline_events_out_of_order_and_a_sequence_gap(server):
    tx = "LIVE-TX-OFFLINE"

    async def run() -> None:
        async with station(server) as role:
            evse = {"id": 2, "connectorId": 1}
            await role.call(_event("Started", tx, 0, _at(50), "Authorized", evse=evse, id_token=ACCEPTED_TOKEN,
                                   offline=True, meter_value=_energy(1_000, _at(50), "Transaction.Begin")))  # fmt: skip
            await role.call(_event("Updated", tx, 3, _at(20), "MeterValuePeriodic", offline=True,
                                   meter_value=_energy(4_000, _at(20))))  # fmt: skip
            await role.call(_event("Updated", tx, 1, _at(40), "MeterValuePeriodic", offline=True,
                                   meter_value=_energy(2_000, _at(40))))  # fmt: skip
            # seqNo 2 never comes.
            await role.call(_event("Ended", tx, 4, _at(10), "StopAuthorized", offline=True,
                                   id_token=ACCEPTED_TOKEN,
                                   meter_value=_energy(5_000, _at(10), "Transaction.End")))  # fmt: skip

    asyncio.run(run())
    state, meter_start, meter_stop, energy, _, needs_review, notes, _, session_id = _session(server, tx)
    assert (state, meter_start, meter_stop, energy) == ("completed", 1_000, 5_000, 4_000)
    assert needs_review
    assert "sequence numbers 2" in notes
    assert "went backwards" not in notes
    assert server.query(
        "SELECT seq_no, offline, applied FROM charging_transactioneventrecord WHERE session_id = %s ORDER BY seq_no",
        (session_id,),
    ) == [(0, 1, 1), (1, 1, 0), (3, 1, 1), (4, 1, 1)]
    assert server.query("SELECT COUNT(*) FROM charging_metervalue WHERE session_id = %s", (session_id,)) == [(4,)]


def test_an_ended_event_without_a_start_yields_a_complete_session_and_a_late_start_does_not_reopen(server):
    tx = "LIVE-TX-ENDED-ONLY"

    async def run() -> list:
        async with station(server) as role:
            ended = await role.call(
                _event(
                    "Ended",
                    tx,
                    7,
                    _at(5),
                    "StopAuthorized",
                    offline=True,
                    evse={"id": 1},
                    id_token=ACCEPTED_TOKEN,
                    info={"stoppedReason": "Local"},
                    meter_value=[
                        *_energy(30_000, _at(45), "Transaction.Begin"),
                        *_energy(36_000, _at(5), "Transaction.End"),
                    ],
                )
            )
            started = await role.call(
                _event(
                    "Started",
                    tx,
                    6,
                    _at(45),
                    "Authorized",
                    offline=True,
                    evse={"id": 1},
                    id_token=ACCEPTED_TOKEN,
                    meter_value=_energy(30_000, _at(45), "Transaction.Begin"),
                )
            )
            return [ended, started]

    ended, started = asyncio.run(run())
    assert ended.id_token_info["status"] == "Accepted"
    assert started.id_token_info["status"] == "Accepted"
    state, meter_start, meter_stop, energy, reason, needs_review, notes, _, _ = _session(server, tx)
    assert (state, meter_start, meter_stop, energy, reason) == ("completed", 30_000, 36_000, 6_000, "Local")
    assert needs_review
    assert "no start event received" in notes
    assert "received after the transaction ended" in notes


def test_authorize_of_a_blocked_and_an_unknown_token(server):
    async def run() -> list:
        async with station(server) as role:
            return [
                await role.call(call.Authorize(id_token=BLOCKED_TOKEN)),
                await role.call(call.Authorize(id_token={"idToken": "NO-SUCH-TAG", "type": "eMAID"})),
                await role.call(call.Authorize(id_token={"idToken": "demo-tag-001", "type": "KeyCode"})),
            ]

    blocked, unknown, accepted = asyncio.run(run())
    assert blocked.id_token_info["status"] == "Blocked"
    assert unknown.id_token_info["status"] == "Unknown"
    assert accepted.id_token_info["status"] == "Accepted"  # any type; the token text is the key


def test_a_token_allowed_on_some_evses_only_hears_which(server):
    """C01.FR.20/22: a token with places hears the EVSEs it may use here, and NotAtThisLocation
    at a station where it may not charge."""
    server.execute(
        "INSERT INTO charging_idtoken (organization_id, id_tag, kind, status, parent_id_tag, holder_name, created_at) "
        "SELECT s.organization_id, 'DEPOT-ONLY', 'ISO14443', 'Accepted', '', '', CURRENT_TIMESTAMP "
        "FROM sites_charger c JOIN sites_site s ON s.id = c.site_id WHERE c.charge_point_id = %s",
        (STATION,),
    )
    server.execute(
        "INSERT INTO charging_idtokenplace (token_id, charger_id, evse_id) "
        "SELECT t.id, c.id, 2 FROM charging_idtoken t, sites_charger c "
        "WHERE t.id_tag = 'DEPOT-ONLY' AND c.charge_point_id = %s",
        (STATION,),
    )
    server.execute(
        "INSERT INTO charging_idtokenplace (token_id, charger_id, evse_id) "
        "SELECT t.id, c.id, NULL FROM charging_idtoken t, sites_charger c "
        "WHERE t.id_tag = 'DEPOT-ONLY' AND c.charge_point_id = 'DEMO-CP-001'",
    )

    async def run() -> list:
        async with station(server) as role:
            return [
                await role.call(call.Authorize(id_token={"idToken": "DEPOT-ONLY", "type": "ISO14443"})),
                await role.call(call.Authorize(id_token=ACCEPTED_TOKEN)),
            ]

    restricted, everywhere = asyncio.run(run())
    assert restricted.id_token_info == {"status": "Accepted", "evse_id": [2]}  # the library's snake case
    assert "evse_id" not in everywhere.id_token_info
    server.execute("DELETE FROM charging_idtokenplace WHERE evse_id = 2")  # only DEMO-CP-001 left

    async def elsewhere() -> dict:
        async with station(server) as role:
            return (
                await role.call(call.Authorize(id_token={"idToken": "DEPOT-ONLY", "type": "ISO14443"}))
            ).id_token_info

    assert asyncio.run(elsewhere()) == {"status": "NotAtThisLocation"}


def test_a_blocked_token_starting_offline_still_gets_a_session(server):
    tx = "LIVE-TX-BLOCKED"

    async def run():
        async with station(server) as role:
            return await role.call(
                _event(
                    "Started",
                    tx,
                    0,
                    _at(3),
                    "Authorized",
                    evse={"id": 3},
                    id_token=BLOCKED_TOKEN,
                    offline=True,
                    meter_value=_energy(500, _at(3), "Transaction.Begin"),
                )
            )

    answer = asyncio.run(run())
    assert answer.id_token_info["status"] == "Blocked"
    state, *_, needs_review, _notes, id_tag, _ = _session(server, tx)
    assert (state, id_tag, needs_review) == ("active", "DEMO-TAG-BLOCKED", True)


def test_meter_values_of_an_evse_and_of_the_main_meter(server):
    async def run() -> None:
        async with station(server) as role:
            sampled = [{"value": 7.5, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
                       {"value": 123.456, "unitOfMeasure": {"unit": "kWh", "multiplier": 0}}]  # fmt: skip
            await role.call(call.MeterValues(evse_id=1, meter_value=[{"timestamp": _at(1), "sampledValue": sampled}]))
            await role.call(
                call.MeterValues(
                    evse_id=0,
                    meter_value=[
                        {"timestamp": _at(1), "sampledValue": [{"value": 9, "unitOfMeasure": {"multiplier": 3}}]}
                    ],
                )
            )

    asyncio.run(run())
    rows = server.query(
        "SELECT m.measurand, m.unit, m.raw_value, n.evse_id, n.connector_id FROM charging_metervalue m "
        "JOIN sites_charger c ON c.id = m.charger_id LEFT JOIN sites_connector n ON n.id = m.connector_id "
        "WHERE c.charge_point_id = %s AND m.session_id IS NULL ORDER BY m.id",
        (STATION,),
    )
    assert rows == [
        ("Power.Active.Import", "kW", "7.5", 1, 1),
        ("Energy.Active.Import.Register", "kWh", "123.456", 1, 1),
        ("Energy.Active.Import.Register", "Wh", "9000", None, None),
    ]
