import pytest
from django.urls import reverse

from charging.local_list import DIFFERENTIAL, FULL, send_local_list
from charging.models import IdToken, IdTokenKind
from charging.tests.factories import IdTokenFactory
from sites.commands import intent_of, request_command
from sites.commands.intents import GetLocalListVersion, LocalAuthorization, SendLocalList
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import Charger, Command
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command, rejected

pytestmark = pytest.mark.django_db


def _held(charger: Charger) -> dict[str, str]:
    return dict(charger.local_list.values_list("id_tag", "status"))


@pytest.fixture
def charger_with_tokens():
    charger = ChargerFactory()
    organization = charger.site.organization
    IdTokenFactory(organization=organization, id_tag="AAA")
    IdTokenFactory(organization=organization, id_tag="BBB", status=IdToken.Status.BLOCKED, parent_id_tag="FLEET")
    IdTokenFactory(organization=organization, id_tag="X" * 36)  # 2.0.1-length: does not fit 1.6
    IdTokenFactory(id_tag="OTHER-ORG")
    return charger


def test_full_list_carries_the_organizations_tokens_and_is_applied_once_accepted(charger_with_tokens):
    charger = charger_with_tokens
    command = send_local_list(charger=charger, update_type=FULL)
    assert intent_of(command) == SendLocalList(
        version=1,
        differential=False,
        entries=(
            LocalAuthorization(id_token="AAA", status="Accepted"),
            LocalAuthorization(id_token="BBB", status="Blocked", parent_id_token="FLEET"),
        ),
    )  # its 1.6 form: ocpp_gateway/tests/test_codec_v16.py
    assert _held(charger) == {}
    answer_command(command)
    charger.refresh_from_db()
    assert charger.local_list_version == 1
    assert _held(charger) == {"AAA": "Accepted", "BBB": "Blocked"}


def test_differential_sends_only_changes_and_removals(charger_with_tokens):
    charger = charger_with_tokens
    answer_command(send_local_list(charger=charger, update_type=FULL))
    charger.refresh_from_db()
    IdToken.objects.filter(id_tag="AAA").update(status=IdToken.Status.BLOCKED)
    IdToken.objects.filter(id_tag="BBB").delete()
    IdTokenFactory(organization=charger.site.organization, id_tag="CCC")

    command = send_local_list(charger=charger, update_type=DIFFERENTIAL)
    sent = intent_of(command)
    assert (sent.version, sent.differential) == (2, True)
    assert sent.entries == (
        LocalAuthorization(id_token="AAA", status="Blocked"),
        LocalAuthorization(id_token="CCC", status="Accepted"),
        LocalAuthorization(id_token="BBB"),  # no status: removed from the list
    )
    answer_command(command)
    charger.refresh_from_db()
    assert (charger.local_list_version, _held(charger)) == (2, {"AAA": "Blocked", "CCC": "Accepted"})


@pytest.mark.parametrize(
    "outcome",
    [
        rejected("Failed"),
        rejected("VersionMismatch"),
        Outcome(status=OutcomeStatus.NOT_SUPPORTED, detail="NotSupported"),
    ],
)
def test_a_refused_list_changes_nothing(charger_with_tokens, outcome):
    charger = charger_with_tokens
    answer_command(send_local_list(charger=charger, update_type=FULL), outcome)
    charger.refresh_from_db()
    assert (charger.local_list_version, _held(charger)) == (0, {})


def test_get_local_list_version_is_recorded():
    charger = ChargerFactory()
    answer_command(
        request_command(charger=charger, intent=GetLocalListVersion()),
        Outcome(status=OutcomeStatus.ACCEPTED, local_list_version=7),
    )
    charger.refresh_from_db()
    assert charger.local_list_version == 7


def test_operator_sends_the_list_from_the_admin(admin_client, charger_with_tokens):
    response = admin_client.post(
        reverse("admin:charging_localauthorizationlist_changelist"),
        {"action": "send_full", "_selected_action": [charger_with_tokens.pk]},
    )
    assert response.status_code == 302
    assert Command.objects.get().intent == SendLocalList.kind
    page = admin_client.get(reverse("admin:charging_localauthorizationlist_change", args=[charger_with_tokens.pk]))
    assert page.status_code == 200


def test_tokens_of_other_kinds_than_cards_keep_their_kind_in_the_list_and_its_removals():
    """A 2.0.1 station identifies a list entry by text and kind (IdTokenType): an eMAID is sent,
    held and removed as an eMAID; a card's kind is left to the default."""
    charger = ChargerFactory(ocpp_version="2.0.1")
    organization = charger.site.organization
    IdTokenFactory(organization=organization, id_tag="CARD")
    IdTokenFactory(organization=organization, id_tag="NL-ABC-C12345678-X", kind=IdTokenKind.EMAID)
    full = send_local_list(charger=charger, update_type=FULL)
    assert intent_of(full).entries == (
        LocalAuthorization(id_token="CARD", status="Accepted"),
        LocalAuthorization(id_token="NL-ABC-C12345678-X", status="Accepted", token_type="eMAID"),
    )
    answer_command(full)
    assert dict(charger.local_list.values_list("id_tag", "kind")) == {
        "CARD": "ISO14443", "NL-ABC-C12345678-X": "eMAID",
    }  # fmt: skip
    charger.refresh_from_db()
    assert intent_of(send_local_list(charger=charger, update_type=DIFFERENTIAL)).entries == ()  # nothing changed
    IdToken.objects.filter(id_tag="NL-ABC-C12345678-X").delete()
    charger.refresh_from_db()
    removal = send_local_list(charger=charger, update_type=DIFFERENTIAL)
    assert intent_of(removal).entries == (LocalAuthorization(id_token="NL-ABC-C12345678-X", token_type="eMAID"),)


def test_a_201_stations_list_holds_tokens_of_up_to_36_characters(charger_with_tokens):
    """IdTokenType.idToken is string[36]: what 1.6 (CiString20) leaves out, 2.0.1 carries."""
    charger = charger_with_tokens
    station = ChargerFactory(ocpp_version="2.0.1", site=charger.site)
    long_group = IdTokenFactory(organization=charger.site.organization, id_tag="CCC", parent_id_tag="G" * 25)
    tags_of = {
        c.charge_point_id: [e.id_token for e in intent_of(send_local_list(charger=c, update_type=FULL)).entries]
        for c in (charger, station)
    }
    assert tags_of == {
        charger.charge_point_id: ["AAA", "BBB", "CCC"],
        station.charge_point_id: ["AAA", "BBB", "CCC", "X" * 36],
    }
    # A group too long for 1.6 is left out of its entry rather than cut into another group.
    [ccc] = [e for e in intent_of(Command.objects.filter(charger=charger).last()).entries if e.id_token == "CCC"]
    assert (ccc.parent_id_token, long_group.parent_id_tag) == ("", "G" * 25)


def test_a_tokens_charging_priority_is_in_its_entry_and_a_change_of_it_is_sent():
    station = ChargerFactory(ocpp_version="2.0.1")
    token = IdTokenFactory(organization=station.site.organization, id_tag="VIP", charging_priority=5)
    full = send_local_list(charger=station, update_type=FULL)
    assert intent_of(full).entries == (LocalAuthorization(id_token="VIP", status="Accepted", priority=5),)
    answer_command(full)
    station.refresh_from_db()
    token.charging_priority = -2
    token.save()
    change = intent_of(send_local_list(charger=station, update_type=DIFFERENTIAL))
    assert change.entries == (LocalAuthorization(id_token="VIP", status="Accepted", priority=-2),)
