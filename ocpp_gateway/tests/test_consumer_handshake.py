"""The WebSocket handshake: subprotocols (S2), credentials (S3, S4, S6), unknown chargers (S1),
reconnects (R12) and a second socket of the same charger (R15).

`WebsocketCommunicator` does not advertise the `websocket.http.response` extension by default,
so a refused handshake shows up as a close before accept (`connect()` returns False; a real
server answers HTTP 403). Clients built with `http_response=True` advertise it, and the
refusal's own HTTP status can be checked.
"""

import base64
import logging

import pytest
from django.db import connections

from accounts.tests.factories import OrganizationFactory
from ocpp_gateway import handshake
from ocpp_gateway.consumer import _recent_calls
from ocpp_gateway.group_commit import COMMITTER
from ocpp_gateway.tests.conftest import OCPP16, basic_authorization, boot, db
from sites.models import Charger, RegistrationStatus, SecurityEvent, SecurityProfile, UnknownCharger

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _charger(pk: int) -> Charger:
    return Charger.objects.get(pk=pk)


def _unknown(charge_point_id: str) -> UnknownCharger | None:
    return UnknownCharger.objects.filter(charge_point_id=charge_point_id).first()


def _unknown_count() -> int:
    return UnknownCharger.objects.count()


# --- Accepted connection ------------------------------------------------------------------


async def test_registered_charger_is_accepted_with_ocpp16_and_becomes_the_live_connection(charger, open_client):
    client = await open_client(charger)
    assert client.subprotocol == OCPP16
    assert await client.result("Heartbeat", {})  # no BootNotification needed: Accepted already
    stored = await db(_charger)(charger.pk)
    assert stored.is_online
    assert stored.channel_name
    assert stored.connection_id is not None
    assert stored.connected_at is not None

    await client.disconnect()
    stored = await db(_charger)(charger.pk)
    assert not stored.is_online
    assert stored.channel_name == ""
    assert stored.connection_id is None


# --- S2: subprotocols -------------------------------------------------------------------


@pytest.mark.parametrize("offered", [["ocpp2.0"], [], ["OCPP1.6"], ["ocpp1.5", "ocpp2.1"]])
async def test_without_a_common_subprotocol_the_socket_is_accepted_without_one_and_closed_1002(
    charger, open_client, offered
):
    client = await open_client(charger, subprotocols=offered, connect=False)
    assert await client.connect()
    assert client.subprotocol is None  # never one that was not offered
    assert await client.receive_close() == 1002
    stored = await db(_charger)(charger.pk)
    assert not stored.is_online
    assert stored.channel_name == ""


@pytest.mark.parametrize("offered", [["ocpp2.0.1", "ocpp1.6"], ["ocpp1.6", "ocpp2.0.1"]])
@pytest.mark.parametrize(("preferred", "selected"), [("", "ocpp2.0.1"), ("1.6", OCPP16), ("2.0.1", "ocpp2.0.1")])
async def test_among_several_offered_the_chargers_preferred_version_then_the_systems_order(
    charger, open_client, offered, preferred, selected
):
    await db(Charger.objects.filter(pk=charger.pk).update)(preferred_ocpp_version=preferred)
    client = await open_client(charger, subprotocols=offered, connect=False)
    assert await client.connect()
    assert client.subprotocol == selected  # OCPP_SUBPROTOCOLS: 2.0.1 first
    stored = await db(_charger)(charger.pk)
    assert stored.ocpp_version == {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}[selected]


# --- S3, S6: HTTP Basic -------------------------------------------------------------------


async def test_profile_1_without_authorization_header_is_refused(charger, open_client):
    client = await open_client(charger, key=None, connect=False)
    assert not await client.connect()
    stored = await db(_charger)(charger.pk)
    assert not stored.is_online
    assert stored.channel_name == ""


async def test_refusal_for_missing_credentials_is_http_401_with_a_basic_challenge(charger, open_client):
    client = await open_client(charger, key=None, connect=False, http_response=True)
    status, headers, _body = await client.connect_expecting_http_response()
    assert status == 401
    assert headers[b"www-authenticate"].startswith(b"Basic ")


async def test_wrong_password_is_refused_and_never_logged(charger, open_client, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "WrongPassword-0123456789"
    client = await open_client(charger, key=wrong, connect=False, http_response=True)
    status, _headers, body = await client.connect_expecting_http_response()
    assert status == 401
    assert wrong.encode() not in body
    assert not (await db(_charger)(charger.pk)).is_online
    # Neither the password, nor the real key, nor the encoded header appear in any log record.
    encoded = basic_authorization(charger.charge_point_id, wrong)[1].decode()
    for secret in (wrong, charger.key, encoded.removeprefix("Basic ")):
        assert secret not in caplog.text
    assert "refused" in caplog.text  # the refusal itself is logged


def _security_events(kind: str) -> list[tuple]:
    return list(SecurityEvent.objects.filter(kind=kind).values_list("charger_id", "repeats", "detail"))


async def test_failed_logins_are_security_events_counted_per_charger_and_address(charger, open_client, monkeypatch):
    """S13: an operator sees a charger failing its login, one row with a count for a flood, and
    never the password tried (S3)."""
    monkeypatch.setattr(handshake, "_refusals", handshake.AttemptThrottle(interval=3600))
    for _ in range(3):
        client = await open_client(charger, key="WrongPassword-0123456789", connect=False)
        assert not await client.connect()
    [(charger_id, repeats, detail)] = await db(_security_events)("InvalidChargerCredentials")
    assert charger_id == charger.pk
    assert repeats == 1  # the two after it are counted in memory until the next write
    assert detail["reason"] == "wrong charge point id or key"
    assert "WrongPassword" not in str(detail)
    monkeypatch.setattr(handshake._refusals, "interval", 0)
    client = await open_client(charger, key="WrongPassword-0123456789", connect=False)
    assert not await client.connect()
    [(_, repeats, _)] = await db(_security_events)("InvalidChargerCredentials")
    assert repeats == 4  # merged into the row of that address, with those counted meanwhile


async def test_right_password_with_another_username_is_refused(charger, make_charger, open_client, caplog):
    caplog.set_level(logging.DEBUG)
    other = await db(make_charger)("CP-OTHER-1")
    # The password is right for `charger`, but the username names another charger.
    client = await open_client(charger, username=other.charge_point_id, connect=False, http_response=True)
    status, _headers, _body = await client.connect_expecting_http_response()
    assert status == 401
    assert charger.key not in caplog.text
    assert not (await db(_charger)(charger.pk)).is_online


@pytest.mark.parametrize(
    "authorization",
    [b"Basic !!!not-base64!!!", b"Bearer abcdef", b"Basic " + base64.b64encode(b"no-colon-here")],
)
async def test_unreadable_authorization_header_is_refused(charger, open_client, authorization):
    client = await open_client(charger, key=None, headers=[(b"authorization", authorization)], connect=False)
    assert not await client.connect()


async def test_charger_without_a_key_is_refused_whatever_it_sends(make_charger, open_client):
    keyless = await db(make_charger)("CP-NO-KEY", with_key=False)
    for password in ("", "anything-at-all-123456"):
        client = await open_client(keyless, key=password, connect=False)
        assert not await client.connect()
    assert not (await db(_charger)(keyless.pk)).is_online


async def test_profile_0_charger_needs_no_credentials(make_charger, open_client):
    lab = await db(make_charger)("CP-LAB", security_profile=SecurityProfile.NONE, with_key=False)
    client = await open_client(lab)
    assert "currentTime" in await client.result("Heartbeat", {})


# --- S4: TLS profiles ---------------------------------------------------------------------


async def test_profile_2_charger_over_plain_ws_is_refused(make_charger, open_client):
    secure = await db(make_charger)("CP-TLS", security_profile=SecurityProfile.TLS_BASIC)
    client = await open_client(secure, scheme="ws", connect=False, http_response=True)
    status, _headers, _body = await client.connect_expecting_http_response()
    assert status == 403
    # A forwarded-proto header does not count: only the server's own scope["scheme"] does
    # (set to "wss" by uvicorn for TLS it terminated or a trusted proxy's header).
    spoofed = await open_client(secure, scheme="ws", headers=[(b"x-forwarded-proto", b"https")], connect=False)
    assert not await spoofed.connect()
    assert not (await db(_charger)(secure.pk)).is_online


async def test_a_profile_2_charger_without_tls_is_a_recorded_downgrade(make_charger, open_client):
    secure = await db(make_charger)("CP-TLS-DOWN", security_profile=SecurityProfile.TLS_BASIC)
    client = await open_client(secure, scheme="ws", connect=False)
    assert not await client.connect()
    [(charger_id, _, detail)] = await db(_security_events)("SecurityProfileDowngrade")
    assert charger_id == secure.pk
    assert detail["reason"] == "this charger must connect over TLS"


async def test_profile_2_charger_over_wss_with_its_key_is_accepted(make_charger, open_client):
    secure = await db(make_charger)("CP-TLS", security_profile=SecurityProfile.TLS_BASIC)
    client = await open_client(secure, scheme="wss")
    assert "currentTime" in await client.result("Heartbeat", {})
    wrong = await open_client(secure, scheme="wss", key="WrongPassword-0123456789", connect=False)
    assert not await wrong.connect()


async def test_profile_3_charger_without_a_client_certificate_is_a_downgrade(make_charger, open_client):
    # Its HTTP Basic key is no way in (whitepaper sec. 2.5); the certificate cases are in
    # test_client_certificates.py and, on real TLS, test_profile3_tls_live.py.
    mtls = await db(make_charger)("CP-MTLS", security_profile=SecurityProfile.TLS_CLIENT_CERT)
    client = await open_client(mtls, scheme="wss", connect=False, http_response=True)
    status, _headers, _body = await client.connect_expecting_http_response()
    assert status == 403
    [(charger_id, _, detail)] = await db(_security_events)("SecurityProfileDowngrade")
    assert charger_id == mtls.pk
    assert "client certificate" in detail["reason"]


async def test_database_outage_at_the_handshake_is_refused_with_503(charger, open_client, database_outage):
    database_outage.down = True
    client = await open_client(charger, connect=False, http_response=True)
    status, _headers, _body = await client.connect_expecting_http_response()
    assert status == 503
    database_outage.down = False
    assert await (await open_client(charger)).result("Heartbeat", {})


# --- S1: unknown chargers -----------------------------------------------------------------


@pytest.fixture
def record_every_attempt(monkeypatch):
    """Inbox writes are throttled per id (attempts within the interval are counted in memory
    and written with the next one); write every attempt at once here."""
    monkeypatch.setattr(handshake._unknown_attempts, "interval", 0)


async def test_unknown_charger_is_refused_and_counted_in_the_inbox(transactional_db, open_client, record_every_attempt):
    first = await open_client("CP-STRANGER", key="whatever-password-1", connect=False)
    assert not await first.connect()
    entry = await db(_unknown)("CP-STRANGER")
    assert entry is not None
    assert entry.attempts == 1
    assert entry.state == "new"
    assert entry.subprotocols == OCPP16
    assert entry.remote_address == "192.0.2.10"

    again = await open_client("CP-STRANGER", connect=False, http_response=True)
    status, _headers, _body = await again.connect_expecting_http_response()
    assert status == 404  # OCPP-J 1.6 sec. 3.2
    entry = await db(_unknown)("CP-STRANGER")
    assert entry.attempts == 2
    assert entry.last_seen_at >= entry.first_seen_at
    assert not await db(Charger.objects.filter(charge_point_id="CP-STRANGER").exists)()


async def test_an_invalid_charge_point_id_is_refused_without_an_inbox_entry(transactional_db, open_client):
    client = await open_client("bad:id", path="/ocpp/bad%3Aid", connect=False, http_response=True)
    status, _headers, _body = await client.connect_expecting_http_response()
    assert status == 404
    assert await db(_unknown_count)() == 0


async def test_unknown_charger_inbox_is_bounded(transactional_db, open_client, settings, record_every_attempt):
    settings.OCPP_UNKNOWN_CHARGER_INBOX_SIZE = 2
    for charge_point_id in ("CP-U1", "CP-U2", "CP-U3", "CP-U4"):
        assert not await (await open_client(charge_point_id, connect=False)).connect()
    assert await db(_unknown_count)() == 2
    # Ids already in the inbox are still counted when it is full.
    assert not await (await open_client("CP-U1", connect=False)).connect()
    assert (await db(_unknown)("CP-U1")).attempts == 2
    assert await db(_unknown)("CP-U3") is None


async def test_pending_policy_holds_an_unknown_charger_and_records_its_boot(transactional_db, open_client, settings):
    settings.OCPP_UNKNOWN_CHARGER_POLICY = "pending"
    settings.OCPP_BOOT_RETRY_INTERVAL = 77
    client = await open_client("CP-NEWCOMER")
    reply = await boot(
        client, chargePointVendor="Acme", chargePointModel="Volt 22", chargePointSerialNumber="SN-42",
        firmwareVersion="1.2.3",
    )  # fmt: skip
    assert reply["status"] == "Pending"
    assert reply["interval"] == 77
    assert reply["currentTime"].endswith("Z")
    entry = await db(_unknown)("CP-NEWCOMER")
    assert (entry.vendor, entry.model, entry.serial_number, entry.firmware_version) == (
        "Acme", "Volt 22", "SN-42", "1.2.3",
    )  # fmt: skip
    assert entry.attempts == 2  # the handshake and the BootNotification
    # S8: nothing but BootNotification before Accepted.
    for action, payload in [
        ("Heartbeat", {}),
        ("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}),
        ("Authorize", {"idTag": "TAG1"}),
    ]:
        code, _ = await client.error(action, payload)
        assert code == "SecurityError"
    assert not await db(Charger.objects.filter(charge_point_id="CP-NEWCOMER").exists)()


async def test_register_policy_creates_the_unknown_charger_pending(transactional_db, open_client, settings):
    organization = await db(OrganizationFactory)(slug="auto-org")
    settings.OCPP_UNKNOWN_CHARGER_POLICY = "register"
    settings.OCPP_AUTO_REGISTER_ORGANIZATION = "auto-org"
    client = await open_client("CP-AUTO")
    reply = await boot(client)
    assert reply["status"] == "Pending"
    assert reply["interval"] == settings.OCPP_BOOT_RETRY_INTERVAL

    def created():
        return Charger.objects.select_related("site").get(charge_point_id="CP-AUTO")

    charger = await db(created)()
    assert charger.registration_status == RegistrationStatus.PENDING
    assert charger.site.organization_id == organization.pk
    assert charger.site.name == "Auto-registered"
    assert (charger.vendor, charger.model) == ("TestVendor", "TestModel")
    assert (await db(_unknown)("CP-AUTO")).attempts == 1
    code, _ = await client.error("Heartbeat", {})
    assert code == "SecurityError"


# --- R12: reconnect after a server restart ------------------------------------------------


async def test_accepted_charger_reconnecting_without_boot_is_served_normally(charger, open_client):
    before = await open_client(charger)
    assert (await boot(before))["status"] == "Accepted"
    await before.disconnect()
    # A server restart: the process-wide memory is gone, and so are the worker connections.
    _recent_calls.clear()
    await db(connections.close_all)()

    after = await open_client(charger)
    assert "currentTime" in await after.result("Heartbeat", {})
    assert (
        await after.result("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
        == {}
    )
    await COMMITTER.drain()  # both are written behind the answer
    stored = await db(_charger)(charger.pk)
    assert stored.is_online
    assert stored.last_heartbeat_at is not None


# --- R15: the same charger connects twice -------------------------------------------------


async def test_a_second_socket_replaces_the_first(charger, open_client):
    first = await open_client(charger)
    first_channel = (await db(_charger)(charger.pk)).channel_name
    second = await open_client(charger)

    assert await first.receive_close() == 4000  # the server closes the older socket
    stored = await db(_charger)(charger.pk)
    second_channel, second_connection = stored.channel_name, stored.connection_id
    assert second_channel
    assert second_channel != first_channel

    assert "currentTime" in await second.result("Heartbeat", {})
    await first.disconnect()  # the old socket's disconnect arrives late

    stored = await db(_charger)(charger.pk)
    assert stored.is_online
    assert stored.channel_name == second_channel
    assert stored.connection_id == second_connection
    assert "currentTime" in await second.result("Heartbeat", {})

    await second.disconnect()
    assert not (await db(_charger)(charger.pk)).is_online


# --- Raising the security profile (1.6 security whitepaper A05) ------------------------------


async def test_a_charger_raising_its_profile_may_fall_back_until_it_connects_with_the_new_one(
    make_charger, open_client
):
    def _raising(pk: int) -> None:
        Charger.objects.filter(pk=pk).update(security_profile_target=SecurityProfile.TLS_BASIC)

    charger = await db(make_charger)("CP-RAISE", security_profile=SecurityProfile.BASIC)
    await db(_raising)(charger.pk)
    # A05.FR.08: it could not connect with profile 2 and fell back to profile 1: still let in.
    fallback = await open_client(charger, scheme="ws")
    assert "currentTime" in await fallback.result("Heartbeat", {})
    await fallback.disconnect()
    assert (await db(_charger)(charger.pk)).security_profile == SecurityProfile.BASIC
    # With TLS and its key it has profile 2: that is its profile from now on (A05.FR.09).
    raised = await open_client(charger, scheme="wss")
    assert "currentTime" in await raised.result("Heartbeat", {})
    await raised.disconnect()
    now = await db(_charger)(charger.pk)
    assert (now.security_profile, now.security_profile_target) == (SecurityProfile.TLS_BASIC, None)
    [(charger_id, _, detail)] = await db(_security_events)("SecurityProfileRaised")
    assert (charger_id, detail) == (charger.pk, {"from": 1, "to": 2})
    # ... and profile 1 is a downgrade.
    downgraded = await open_client(charger, scheme="ws", connect=False)
    assert not await downgraded.connect()
