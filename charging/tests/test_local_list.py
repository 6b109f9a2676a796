import pytest
from django.urls import reverse

from charging.local_list import DIFFERENTIAL, FULL, send_local_list
from charging.models import IdToken
from charging.tests.factories import IdTokenFactory
from sites.commands import request_command
from sites.models import Charger, Command
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command

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
    assert command.payload == {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "AAA", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "BBB", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET"}},
        ],
    }
    assert _held(charger) == {}
    answer_command(command, {"status": "Accepted"})
    charger.refresh_from_db()
    assert charger.local_list_version == 1
    assert _held(charger) == {"AAA": "Accepted", "BBB": "Blocked"}


def test_differential_sends_only_changes_and_removals(charger_with_tokens):
    charger = charger_with_tokens
    answer_command(send_local_list(charger=charger, update_type=FULL), {"status": "Accepted"})
    charger.refresh_from_db()
    IdToken.objects.filter(id_tag="AAA").update(status=IdToken.Status.BLOCKED)
    IdToken.objects.filter(id_tag="BBB").delete()
    IdTokenFactory(organization=charger.site.organization, id_tag="CCC")

    command = send_local_list(charger=charger, update_type=DIFFERENTIAL)
    assert command.payload["listVersion"] == 2
    assert command.payload["localAuthorizationList"] == [
        {"idTag": "AAA", "idTagInfo": {"status": "Blocked"}},
        {"idTag": "CCC", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "BBB"},
    ]
    answer_command(command, {"status": "Accepted"})
    charger.refresh_from_db()
    assert (charger.local_list_version, _held(charger)) == (2, {"AAA": "Blocked", "CCC": "Accepted"})


@pytest.mark.parametrize("answer", ["Failed", "VersionMismatch", "NotSupported"])
def test_a_refused_list_changes_nothing(charger_with_tokens, answer):
    charger = charger_with_tokens
    answer_command(send_local_list(charger=charger, update_type=FULL), {"status": answer})
    charger.refresh_from_db()
    assert (charger.local_list_version, _held(charger)) == (0, {})


def test_get_local_list_version_is_recorded():
    charger = ChargerFactory()
    answer_command(request_command(charger=charger, action="GetLocalListVersion", payload={}), {"listVersion": 7})
    charger.refresh_from_db()
    assert charger.local_list_version == 7


def test_operator_sends_the_list_from_the_admin(admin_client, charger_with_tokens):
    response = admin_client.post(
        reverse("admin:charging_localauthorizationlist_changelist"),
        {"action": "send_full", "_selected_action": [charger_with_tokens.pk]},
    )
    assert response.status_code == 302
    assert Command.objects.get().action == "SendLocalList"
    page = admin_client.get(reverse("admin:charging_localauthorizationlist_change", args=[charger_with_tokens.pk]))
    assert page.status_code == 200
