"""The outbound port refuses, before anything is written, what a command must not ask of
its charger (issue 15): protected configuration keys, URLs into our own network, connectors
and transactions the charger does not have."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sites.command_rules import SECRET_MASK, masked_payload
from sites.commands import claim_next_command, request_command, rotate_charger_key
from sites.credentials import hash_charger_key, seal_key
from sites.models import Charger, Command
from sites.services import register_charger
from sites.tests.factories import SiteFactory
from sites.validators import validate_remote_url

pytestmark = pytest.mark.django_db

NEW_KEY = "0123456789abcdef0123456789abcdef01234567"
PURPOSE = "chargingProfilePurpose"


@pytest.fixture
def charger() -> Charger:
    """A 1.6 charger with connectors 1 and 2."""
    return register_charger(site=SiteFactory(), charge_point_id="RULES-1", connector_count=2)


def refused(charger: Charger, action: str, payload: dict, **options) -> str:
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, action=action, payload=payload, **options)
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
    message = refused(charger, "ChangeConfiguration", {"key": key, "value": NEW_KEY})
    assert NEW_KEY not in message
    assert "cannot be" in message


def test_authorization_key_message_points_to_the_rotation_action(charger):
    message = refused(charger, "ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_KEY})
    assert "Rotate key over OCPP" in message


def test_the_rotation_service_still_sends_a_sealed_masked_key(charger):
    command = rotate_charger_key(charger=charger)
    assert command.payload == {"key": "AuthorizationKey", "value": SECRET_MASK}
    sent = claim_next_command(charger_id=charger.pk, message_id="m", at=timezone.now())
    assert sent.payload["value"] != SECRET_MASK  # the real key goes to the charger ...
    assert sent.log_payload["value"] == SECRET_MASK  # ... and only the mask to the message log


def test_a_sealed_key_that_is_not_the_pending_one_is_refused(charger):
    # Someone imitating the rotation service: the key would be sent, but the charger's
    # pending key (what the handshake will accept) is another one, so it would be locked out.
    Charger.objects.filter(pk=charger.pk).update(pending_auth_key_hash=hash_charger_key("f" * 40))
    refused(
        charger,
        "ChangeConfiguration",
        {"key": "AuthorizationKey", "value": SECRET_MASK},
        sealed_secret=seal_key(NEW_KEY),
    )


def test_a_sealed_secret_on_any_other_command_is_refused(charger):
    refused(charger, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}, sealed_secret=seal_key("x"))


def test_ordinary_configuration_keys_pass(charger):
    command = request_command(
        charger=charger, action="ChangeConfiguration", payload={"key": "HeartbeatInterval", "value": "60"}
    )
    assert command.payload == {"key": "HeartbeatInterval", "value": "60"}


def test_what_the_log_may_show_is_masked_whatever_the_case_of_the_key():
    assert masked_payload("ChangeConfiguration", {"key": "authorizationKey", "value": NEW_KEY})["value"] == SECRET_MASK
    assert masked_payload("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "5"})["value"] == "5"


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
    ("action", "payload"),
    [
        ("UpdateFirmware", {"location": "http://169.254.169.254/", "retrieveDate": "2026-01-01T00:00:00Z"}),
        ("GetDiagnostics", {"location": "file:///etc/passwd"}),
    ],
)
def test_the_port_refuses_internal_urls(charger, action, payload):
    assert "location:" in refused(charger, action, payload)


# --- Item 6c: connectors and transactions of this charger ---------------------------------------


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("UnlockConnector", {"connectorId": 99}),
        ("UnlockConnector", {"connectorId": 0}),
        ("RemoteStartTransaction", {"idTag": "T", "connectorId": 3}),
        ("RemoteStartTransaction", {"idTag": "T", "connectorId": 0}),
        ("ChangeAvailability", {"connectorId": 99, "type": "Inoperative"}),
        ("ReserveNow", {"connectorId": 99, "expiryDate": "2026-01-01T00:00:00Z", "idTag": "T", "reservationId": 1}),
        ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 99}),
        ("GetCompositeSchedule", {"connectorId": 99, "duration": 60}),
        ("ClearChargingProfile", {"connectorId": 99}),
        ("SetChargingProfile", {"connectorId": 99, "csChargingProfiles": {PURPOSE: "TxDefaultProfile"}}),
        ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {PURPOSE: "ChargePointMaxProfile"}}),
        ("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": {PURPOSE: "TxProfile"}}),
    ],
)
def test_connectors_the_charger_does_not_have_are_refused(charger, action, payload):
    message = refused(charger, action, payload)
    assert "connector" in message.lower()


def test_the_message_names_the_connectors_the_charger_has(charger):
    message = refused(charger, "UnlockConnector", {"connectorId": 99})
    assert message == "RULES-1 has no connector 99; its connectors: 1, 2."


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("UnlockConnector", {"connectorId": 2}),
        ("RemoteStartTransaction", {"idTag": "T"}),
        ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}),
        ("ReserveNow", {"connectorId": 0, "expiryDate": "2026-01-01T00:00:00Z", "idTag": "T", "reservationId": 1}),
        ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 0}),
        ("TriggerMessage", {"requestedMessage": "StatusNotification"}),
        ("GetCompositeSchedule", {"connectorId": 0, "duration": 60}),
        ("ClearChargingProfile", {"connectorId": 0}),
        ("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": {PURPOSE: "ChargePointMaxProfile"}}),
    ],
)
def test_connector_zero_where_the_spec_allows_it_and_known_connectors_pass(charger, action, payload):
    assert request_command(charger=charger, action=action, payload=payload).pk
