"""Raising a charger's security profile (1.6 security whitepaper A05): only upward, only when
the central system can check the new profile's credentials, sent as ChangeConfiguration of
SecurityProfile; an accepted change is a target the charger is let in with, besides its present
profile, until it connects with it (handshake tests: test_consumer_handshake.py)."""

import pytest
from django.core.exceptions import ValidationError

from ocpp_gateway.v16.codec import encode
from sites.commands import request_command
from sites.commands.intents import ChangeSetting, RaiseSecurityProfile
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.commands.rules import intent_kinds_for
from sites.credentials import hash_charger_key
from sites.models import Charger, SecurityEvent, SecurityProfile
from sites.services import promote_security_profile, register_charger
from sites.tests.factories import SiteFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def charger() -> Charger:
    return register_charger(
        site=SiteFactory(), charge_point_id="CP-RAISE", security_profile=SecurityProfile.BASIC,
        auth_key_hash=hash_charger_key("0123456789abcdef0123"),
    )  # fmt: skip


def _refusal(charger: Charger, profile: int) -> str:
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, intent=RaiseSecurityProfile(profile=profile))
    return " ".join(error.value.messages)


@pytest.mark.parametrize(("profile", "message"), [(0, "1, 2 or 3"), (1, "can only be raised"), (4, "1, 2 or 3")])
def test_never_to_the_same_or_a_lower_profile(charger, profile, message):
    assert message in _refusal(charger, profile)


def test_profile_2_needs_a_key_to_check(charger):
    Charger.objects.filter(pk=charger.pk).update(security_profile=SecurityProfile.NONE, auth_key_hash="")
    charger.refresh_from_db()
    assert "no HTTP Basic key" in _refusal(charger, 2)


def test_profile_3_needs_a_charging_station_ca(charger, settings):
    settings.OCPP_TLS_CLIENT_CA_FILE = ""
    assert "No charging-station CA" in _refusal(charger, 3)
    settings.OCPP_TLS_CLIENT_CA_FILE = "/etc/csms/charging-station-ca.pem"
    assert request_command(charger=charger, intent=RaiseSecurityProfile(profile=3)).intent == "raise_security_profile"


def test_the_configuration_key_is_not_a_way_around_it(charger):
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, intent=ChangeSetting(key="securityprofile", value="0"))
    assert "Raise the security profile" in " ".join(error.value.messages)


def test_1_6_sends_change_configuration_of_security_profile_and_2_0_1_has_no_such_command(charger):
    assert encode(RaiseSecurityProfile(profile=2)) == ("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})
    assert "raise_security_profile" in intent_kinds_for(charger)
    station = register_charger(site=SiteFactory(), charge_point_id="CS-RAISE", ocpp_version="2.0.1")
    assert "raise_security_profile" not in intent_kinds_for(station)  # 2.0.1: a network profile


@pytest.mark.parametrize(
    ("outcome", "target"),
    [
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted"), 2),
        (Outcome(status=OutcomeStatus.REJECTED, detail="Rejected"), None),  # A05.FR.01-04: prerequisites missing
    ],
)
def test_an_accepted_change_is_a_target_not_yet_the_profile(charger, outcome, target):
    answer_command(request_command(charger=charger, intent=RaiseSecurityProfile(profile=2)), outcome)
    charger.refresh_from_db()
    assert (charger.security_profile, charger.security_profile_target) == (SecurityProfile.BASIC, target)


def test_promotion_happens_once_and_is_a_security_event(charger):
    Charger.objects.filter(pk=charger.pk).update(security_profile_target=2)
    promote_security_profile(charger_id=charger.pk, profile=2)
    promote_security_profile(charger_id=charger.pk, profile=2)
    charger.refresh_from_db()
    assert (charger.security_profile, charger.security_profile_target) == (2, None)
    [event] = SecurityEvent.objects.filter(kind="SecurityProfileRaised")
    assert (event.charger_id, event.detail, event.critical) == (charger.pk, {"from": 1, "to": 2}, False)
