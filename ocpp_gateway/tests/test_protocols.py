"""The protocol registry: the 1.6 entry, the handshake's negotiation among registered versions,
and a second version added by one registry entry, with no change to the consumer."""

import datetime as dt

import pytest

from ocpp_gateway import protocols
from ocpp_gateway.connection import Connection, One, OnePerLocation
from ocpp_gateway.handshake import negotiate_subprotocol
from ocpp_gateway.protocols import OCPP16, OCPP201, REGISTRY, Protocol, protocol_for
from ocpp_gateway.rpc import ERROR_CODES, ErrorKind, RpcError
from ocpp_gateway.tests.conftest import CALLERROR, CALLRESULT, db
from ocpp_gateway.tests.conftest import OCPP16 as OCPP16_NAME
from ocpp_gateway.v16 import codec as v16_codec
from ocpp_gateway.v16.handlers import CSMS_INITIATED, HANDLERS
from ocpp_gateway.v201.rules import ReportParts
from sites.models import RegistrationStatus

FAKE = "ocpp9.9-test"


# --- The 1.6 entry ----------------------------------------------------------------------


def test_ocpp16_is_registered_with_its_handlers_rules_and_vocabulary():
    entry = protocol_for(OCPP16_NAME)
    assert entry is OCPP16
    assert entry.handlers is HANDLERS  # the very table: no copy, no proxy on the hot path
    assert entry.charger_initiated == frozenset(HANDLERS)
    assert entry.csms_initiated == frozenset(CSMS_INITIATED)
    assert entry.boot_action == "BootNotification"
    # 1.6 sec. 4.2: what may be sent to a Pending charger.
    assert entry.allowed_while_pending == {
        "GetConfiguration", "ChangeConfiguration", "TriggerMessage", "ExtendedTriggerMessage", "DataTransfer",
    }  # fmt: skip
    assert entry.error_code(ErrorKind.FORMAT) == "FormationViolation"  # OCPP-J 1.6 sec. 4.2.3 (sic)
    assert dict(entry.error_codes) == ERROR_CODES[OCPP16_NAME]
    assert entry.codec is v16_codec  # intents become 1.6 CALLs, answers become outcomes


def test_the_1_6_schemas_answer_with_the_callerror_to_send():
    with pytest.raises(RpcError) as raised:
        OCPP16.schemas.validate_call("Heartbeat", {"unexpected": 1}, "m1")
    assert raised.value.kind is ErrorKind.FORMAT
    assert raised.value.message_id == "m1"
    OCPP16.schemas.validate_call("Heartbeat", {}, "m2")


def test_an_unregistered_subprotocol_has_no_entry():
    with pytest.raises(KeyError):
        protocol_for("ocpp0.1")
    assert not protocols.is_known("ocpp0.1")


async def _noop(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    return {}


def _entry(**changes) -> Protocol:
    fields = {
        "subprotocol": FAKE,
        "ocpp_version": "1.6",
        "handlers": {"Hello": _noop},
        "charger_initiated": frozenset({"Hello"}),
        "csms_initiated": frozenset(),
        "allowed_while_pending": frozenset(),
        "boot_action": "Hello",
        "error_codes": {kind: kind.name for kind in ErrorKind},
        "schemas": OCPP16.schemas,
    }
    return Protocol(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"boot_action": "Missing"},  # the boot action must have a handler
        {"charger_initiated": frozenset()},  # a handler for an action the charger never sends
        {"error_codes": {ErrorKind.GENERIC: "GenericError"}},  # a CALLERROR kind without a code
    ],
)
def test_an_inconsistent_entry_is_refused_when_it_is_built(changes):
    with pytest.raises(ValueError, match=FAKE):
        _entry(**changes)


# --- Negotiation: enabled in settings and registered ------------------------------------


def test_negotiation_takes_only_registered_subprotocols(settings):
    settings.OCPP_SUBPROTOCOLS = ["ocpp0.1", OCPP16_NAME]  # 0.1 enabled, but nobody speaks it
    assert negotiate_subprotocol(["ocpp0.1"]) is None
    assert negotiate_subprotocol(["ocpp0.1", OCPP16_NAME]) == OCPP16_NAME


def test_negotiation_follows_the_settings_order_among_registered_ones(settings, monkeypatch):
    monkeypatch.setitem(REGISTRY, FAKE, _entry())
    settings.OCPP_SUBPROTOCOLS = [FAKE, OCPP16_NAME]
    assert negotiate_subprotocol([OCPP16_NAME, FAKE]) == FAKE
    settings.OCPP_SUBPROTOCOLS = [OCPP16_NAME]  # registered but not enabled
    assert negotiate_subprotocol([FAKE]) is None


# --- A second version: one registry entry, the consumer unchanged ------------------------


class FakeSchemas:
    """A "schema" of the fake version: a payload may not carry "bad"."""

    def validate_call(self, action: str, payload: dict, message_id: str) -> None:
        if "bad" in payload:
            raise RpcError(ErrorKind.PROPERTY_CONSTRAINT, "bad is not allowed", message_id)


async def _hello(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    return {"hello": conn.subprotocol}


async def _tick(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    return {"ticked": True}


# Its own vocabulary: every CALLERROR code differs from 1.6's.
FAKE_CODES = {kind: f"Fake{kind.name.title().replace('_', '')}" for kind in ErrorKind}


@pytest.fixture
def fake_version(settings, monkeypatch) -> Protocol:
    entry = Protocol(
        subprotocol=FAKE,
        ocpp_version="1.6",  # what the charger row records (the column knows only real versions)
        handlers={"Hello": _hello, "Tick": _tick},
        charger_initiated=frozenset({"Hello", "Tick", "Tock"}),  # Tock: known, not handled
        csms_initiated=frozenset({"Poke"}),
        allowed_while_pending=frozenset({"Poke"}),
        boot_action="Hello",
        error_codes=FAKE_CODES,
        schemas=FakeSchemas(),
    )
    monkeypatch.setitem(REGISTRY, FAKE, entry)
    settings.OCPP_SUBPROTOCOLS = [FAKE, OCPP16_NAME]
    return entry


async def _open(open_client, target, subprotocol: str = FAKE):
    client = await open_client(target, subprotocols=[subprotocol], connect=False)
    assert await client.connect()
    assert client.subprotocol == subprotocol
    return client


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_registered_version_is_routed_to_its_own_handlers_and_vocabulary(charger, open_client, fake_version):
    client = await _open(open_client, charger)
    assert await client.result("Hello", {}) == {"hello": FAKE}
    assert await client.result("Tick", {}) == {"ticked": True}
    # Its schemas, its error codes.
    assert (await client.error("Hello", {"bad": 1}))[0] == "FakePropertyConstraint"
    # An action of the central system, a known one without a handler, an unknown one (here
    # a 1.6 action: the consumer must not fall back to 1.6's table).
    assert (await client.error("Poke", {}))[0] == "FakeNotSupported"
    assert (await client.error("Tock", {}))[0] == "FakeNotSupported"
    assert (await client.error("Heartbeat", {}))[0] == "FakeNotImplemented"
    # A malformed frame: the framing is shared, the code is the version's.
    await client.send_raw('[2, "m-short", "Hello"]')
    reply = await client.receive()
    assert reply[:3] == [CALLERROR, "m-short", "FakeRpcFramework"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_registered_version_brings_its_own_boot_action(make_charger, open_client, fake_version):
    held = await db(make_charger)("CP-FAKE-PENDING", registration_status=RegistrationStatus.PENDING)
    client = await _open(open_client, held)
    # Nothing but its boot action before Accepted (the rule of 1.6 errata 3.10, its action name).
    assert (await client.error("Tick", {}))[0] == "FakeSecurity"
    reply = await client.call("Hello", {})
    assert reply[0] == CALLRESULT


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_1_6_is_still_spoken_beside_a_second_version(charger, open_client, fake_version):
    client = await _open(open_client, charger, OCPP16_NAME)
    assert "currentTime" in await client.result("Heartbeat", {})
    assert (await client.error("Hello", {}))[0] == "NotImplemented"


ACCEPTED = {"status": "Accepted"}


@pytest.mark.parametrize(
    ("entry", "action", "payload", "permitted"),
    [
        (OCPP16, "TriggerMessage", {"requestedMessage": "Heartbeat"}, ("Heartbeat", One)),
        (OCPP16, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1},
         ("StatusNotification", One)),
        # Sec. 5.17: no connectorId, "for all allowed connectorId values".
        (OCPP16, "TriggerMessage", {"requestedMessage": "StatusNotification"}, ("StatusNotification", OnePerLocation)),
        (OCPP16, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"},
         ("SignCertificate", One)),
        (OCPP16, "ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"},
         ("SignedFirmwareStatusNotification", One)),
        (OCPP16, "GetConfiguration", {}, None),
        (OCPP201, "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}, ("SignCertificate", One)),
        (OCPP201, "TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 1}}, ("MeterValues", One)),
        # F06.FR.11: no evse, "for all allowed evse values" (F06.FR.12: per connector).
        (OCPP201, "TriggerMessage", {"requestedMessage": "MeterValues"}, ("MeterValues", OnePerLocation)),
        (OCPP201, "TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1}},
         ("StatusNotification", OnePerLocation)),
        (OCPP201, "TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 2}},
         ("StatusNotification", One)),
        (OCPP201, "TriggerMessage", {"requestedMessage": "Heartbeat", "evse": {"id": 1}}, ("Heartbeat", One)),
        # B07/B08: the report's parts, by its requestId.
        (OCPP201, "GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"}, ("NotifyReport", ReportParts)),
        (OCPP201, "GetReport", {"requestId": 8}, ("NotifyReport", ReportParts)),
        (OCPP201, "GetVariables", {"getVariableData": []}, None),
    ],
)  # fmt: skip
def test_what_a_call_of_ours_lets_a_charger_send_before_it_is_accepted(entry, action, payload, permitted):
    granted = entry.permit(action, payload, ACCEPTED)
    if permitted is None:
        assert granted is None
    else:
        assert (granted[0], type(granted[1])) == permitted


@pytest.mark.parametrize("status", ["Rejected", "NotImplemented", "NotSupported", "EmptyResultSet"])
@pytest.mark.parametrize(
    ("entry", "action", "payload"),
    [
        (OCPP16, "TriggerMessage", {"requestedMessage": "Heartbeat"}),
        (OCPP201, "TriggerMessage", {"requestedMessage": "Heartbeat"}),
        (OCPP201, "GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"}),
    ],
)
def test_an_answer_other_than_accepted_permits_nothing(entry, action, payload, status):
    """1.6 sec. 5.17 / F06.FR.05, B07.FR.05: the charger said it will send nothing."""
    assert entry.permit(action, payload, {"status": status}) is None


def test_a_permit_is_used_up_by_what_it_asked_for():
    conn = Connection(charge_point_id="CP", subprotocol="ocpp2.0.1")
    conn.grant(*OCPP201.permit("TriggerMessage", {"requestedMessage": "Heartbeat"}, ACCEPTED))
    conn.grant(*OCPP201.permit("TriggerMessage", {"requestedMessage": "MeterValues"}, ACCEPTED))
    conn.grant(*OCPP201.permit("GetReport", {"requestId": 3}, ACCEPTED))
    # Once.
    assert conn.may_send("Heartbeat", {})
    conn.sent("Heartbeat", {})
    assert not conn.may_send("Heartbeat", {})
    # Once per EVSE.
    assert conn.may_send("MeterValues", {"evseId": 1})
    conn.sent("MeterValues", {"evseId": 1})
    assert not conn.may_send("MeterValues", {"evseId": 1})
    assert conn.may_send("MeterValues", {"evseId": 2})
    # The report of that requestId, up to its last part.
    assert not conn.may_send("NotifyReport", {"requestId": 4, "seqNo": 0})
    conn.sent("NotifyReport", {"requestId": 3, "seqNo": 0, "tbc": True})
    assert conn.may_send("NotifyReport", {"requestId": 3, "seqNo": 1})
    conn.sent("NotifyReport", {"requestId": 3, "seqNo": 1})
    assert not conn.may_send("NotifyReport", {"requestId": 3, "seqNo": 2})
    assert set(conn.permits) == {"MeterValues"}
