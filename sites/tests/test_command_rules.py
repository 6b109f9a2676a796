"""The outbound port refuses, before anything is written, what a command must not ask of
its charger (issue 15): protected configuration keys, URLs into our own network, connectors
and transactions the charger does not have."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sites.commands import claim_next_command, request_command, rotate_charger_key
from sites.commands.intents import (
    ChangeAvailability,
    ChangeSetting,
    ChargingProfileSpec,
    ClearChargingProfile,
    GetCompositeSchedule,
    GetDiagnostics,
    Intent,
    NetworkConnection,
    RemoteStart,
    Reserve,
    RotateKey,
    SchedulePeriod,
    SetChargingProfile,
    SetNetworkProfile,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
)
from sites.commands.rules import SECRET_MASK
from sites.credentials import hash_charger_key, seal_key
from sites.models import Charger, Command
from sites.services import register_charger
from sites.tests.factories import SiteFactory
from sites.tests.helpers import neutral_encode
from sites.validators import validate_remote_url

pytestmark = pytest.mark.django_db

NEW_KEY = "0123456789abcdef0123456789abcdef01234567"
SOON = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def profile(purpose: str) -> ChargingProfileSpec:
    return ChargingProfileSpec(
        profile_id=1, stack_level=0, purpose=purpose, kind="Absolute", rate_unit="W",
        periods=(SchedulePeriod(start=0, limit=11000),),
    )  # fmt: skip


@pytest.fixture
def charger() -> Charger:
    """A 1.6 charger with connectors 1 and 2."""
    return register_charger(site=SiteFactory(), charge_point_id="RULES-1", connector_count=2)


def refused(charger: Charger, intent: Intent, **options) -> str:
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, intent=intent, **options)
    assert not Command.objects.exists()
    return " ".join(error.value.messages)


# --- Item 2: keys are set through the rotation service only ------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "AuthorizationKey",
        "authorizationkey",
        "AUTHORIZATIONKEY",
        " AuthorizationKey ",
        "SecurityProfile",
        "securityprofile",
    ],
)
def test_protected_configuration_keys_are_refused_at_the_port(charger, key):
    message = refused(charger, ChangeSetting(key=key, value=NEW_KEY))
    assert NEW_KEY not in message
    assert "cannot be" in message


def test_authorization_key_message_points_to_the_rotation_action(charger):
    message = refused(charger, ChangeSetting(key="AuthorizationKey", value=NEW_KEY))
    assert "Rotate key over OCPP" in message


def test_the_rotation_service_still_sends_a_sealed_masked_key(charger):
    command = rotate_charger_key(charger=charger)
    assert (command.intent, command.fields, command.payload) == ("rotate_key", {}, {})
    sent = claim_next_command(charger_id=charger.pk, message_id="m", at=timezone.now(), encode=neutral_encode)
    assert sent.payload["secret"] not in ("", SECRET_MASK)  # the real key goes to the charger ...
    assert sent.log_payload["secret"] == SECRET_MASK  # ... and only the mask to the message log ...
    command.refresh_from_db()
    assert command.payload["secret"] == SECRET_MASK  # ... and to the command's wire form


def test_a_sealed_key_that_is_not_the_pending_one_is_refused(charger):
    # Someone imitating the rotation service: the key would be sent, but the charger's
    # pending key (what the handshake will accept) is another one, so it would be locked out.
    Charger.objects.filter(pk=charger.pk).update(pending_auth_key_hash=hash_charger_key("f" * 40))
    refused(charger, RotateKey(), sealed_secret=seal_key(NEW_KEY))


def test_a_sealed_secret_on_any_other_command_is_refused(charger):
    refused(charger, ChangeSetting(key="HeartbeatInterval", value="60"), sealed_secret=seal_key("x"))


def test_ordinary_configuration_keys_pass(charger):
    command = request_command(charger=charger, intent=ChangeSetting(key="HeartbeatInterval", value="60"))
    assert (command.intent, command.fields) == (
        "change_setting",
        {"key": "HeartbeatInterval", "value": "60", "component": ""},
    )


# --- Item 6a: URLs into our own network (S20) --------------------------------------------------

REFUSED_URLS = [
    "file:///etc/passwd",
    "gopher://example.com/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/fw.bin",
    "http://192.168.1.20/fw.bin",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://127.0.0.1:8000/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://localhost/",
    "http://LOCALHOST./",
    "ftp://files.localhost/",
    "http://a@b@127.0.0.1/",
    "http://example.com\\@127.0.0.1/",
    "http://exa mple.com/",
    "http:///no-host",
    "http://example.com:99999/",
    "",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_internal_and_odd_urls_are_refused(url):
    with pytest.raises(ValidationError):
        validate_remote_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://fw.example.com/1.2.bin",
        "HTTPS://FW.EXAMPLE.COM/a.bin",
        "http://8.8.8.8/fw.bin",
        "http://[2001:4860:4860::8888]/fw.bin",
        "ftp://user:secret@logs.example.com:21/uploads/",
        "ftps://logs.example.com/",
        "sftp://logs.example.com/in/",
        "https://xn--mnchen-3ya.example/fw.bin",
    ],
)
def test_public_urls_pass(url):
    validate_remote_url(url)


def test_private_addresses_pass_when_the_setting_allows_them(settings):
    settings.OCPP_ALLOW_PRIVATE_URLS = True
    validate_remote_url("http://10.0.0.1/fw.bin")
    with pytest.raises(ValidationError):  # the scheme rule holds all the same
        validate_remote_url("file:///etc/passwd")


@pytest.mark.parametrize(
    "intent",
    [
        UpdateFirmware(location="http://169.254.169.254/", retrieve_at=SOON),
        GetDiagnostics(location="file:///etc/passwd"),
    ],
)
def test_the_port_refuses_internal_urls(charger, intent):
    assert "location:" in refused(charger, intent)


# --- Item 6c: connectors and transactions of this charger ---------------------------------------


@pytest.mark.parametrize(
    "intent",
    [
        Unlock(connector=99),
        Unlock(connector=0),
        RemoteStart(id_token="T", connector=3),
        RemoteStart(id_token="T", connector=0),
        ChangeAvailability(connector=99, operative=False),
        Reserve(connector=99, expires_at=SOON, id_token="T", reservation_id=1),
        TriggerMessage(message="status", connector=99),
        GetCompositeSchedule(connector=99, duration=60),
        ClearChargingProfile(connector=99),
        SetChargingProfile(connector=99, profile=profile("TxDefaultProfile")),
        SetChargingProfile(connector=1, profile=profile("ChargePointMaxProfile")),
        SetChargingProfile(connector=0, profile=profile("TxProfile")),
    ],
)
def test_connectors_the_charger_does_not_have_are_refused(charger, intent):
    message = refused(charger, intent)
    assert "connector" in message.lower()


def test_the_message_names_the_connectors_the_charger_has(charger):
    message = refused(charger, Unlock(connector=99))
    assert message == "RULES-1 has no connector 99; its connectors: 1, 2."


@pytest.mark.parametrize(
    "intent",
    [
        Unlock(connector=2),
        RemoteStart(id_token="T"),
        ChangeAvailability(connector=0, operative=False),
        Reserve(connector=0, expires_at=SOON, id_token="T", reservation_id=1),
        TriggerMessage(message="status", connector=0),
        TriggerMessage(message="status"),
        GetCompositeSchedule(connector=0, duration=60),
        ClearChargingProfile(connector=0),
        SetChargingProfile(connector=0, profile=profile("ChargePointMaxProfile")),
    ],
)
def test_connector_zero_where_the_spec_allows_it_and_known_connectors_pass(charger, intent):
    assert request_command(charger=charger, intent=intent).pk


# --- Network profiles (2.0.1 B09): never a lower security profile --------------------------------


def test_a_network_profile_never_lowers_the_security_profile():
    station = register_charger(
        site=SiteFactory(), charge_point_id="RULES-201", ocpp_version="2.0.1", security_profile=2
    )

    def profile_of(security_profile: int, version: str = "2.0.1") -> SetNetworkProfile:
        connection = NetworkConnection(
            csms_url="wss://csms.example.com/ocpp", protocol_version=version, security_profile=security_profile
        )
        return SetNetworkProfile(slot=1, connection=connection)

    message = refused(station, profile_of(1))
    assert message == (
        "A network profile cannot lower the security profile: RULES-201 uses profile 2, this connection profile 1."
    )
    assert "no protocol version '1.5'" in refused(station, profile_of(2, version="1.5"))
    assert request_command(charger=station, intent=profile_of(2)).intent == "set_network_profile"
    assert request_command(charger=station, intent=profile_of(3)).intent == "set_network_profile"
