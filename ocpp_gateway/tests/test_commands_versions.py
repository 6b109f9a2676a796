"""Per-version availability of intents (issue 17): the request-time check picks the charger's own
version's codec; the API and the admin offer a charger only what its version can carry."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from ocpp_gateway import command_check
from ocpp_gateway.v16 import codec as v16_codec
from ocpp_gateway.v201 import codec as v201_codec
from sites.command_forms import command_forms_for
from sites.commands import intent_of, request_command
from sites.commands import intents as i
from sites.commands.rules import intent_kinds_for
from sites.models import Command, OcppVersion
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db
ONLY_201 = {
    "get_transaction_status", "cost_updated", "set_network_profile", "customer_information",
    "get_charging_profiles", "request_report", "set_variable_monitoring", "clear_variable_monitoring",
    "get_monitoring_report", "set_monitoring_base",
}  # fmt: skip


def _charger(version: str, charge_point_id: str = "V-1"):
    charger = ChargerFactory(charge_point_id=charge_point_id, ocpp_version=version)
    ConnectorFactory(charger=charger, connector_id=1)
    return charger


def _operator(charger) -> APIClient:
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_each_charger_is_offered_its_versions_kinds():
    v16, v201 = _charger(OcppVersion.V16, "A"), _charger(OcppVersion.V201, "B")
    assert intent_kinds_for(v16) == v16_codec.SUPPORTED_INTENTS
    assert not ONLY_201 & intent_kinds_for(v16)
    assert intent_kinds_for(v201) == v201_codec.SUPPORTED_INTENTS >= ONLY_201


def test_the_codec_and_the_calls_come_from_the_registry_entry_of_the_chargers_version():
    v16, v201 = _charger(OcppVersion.V16, "A"), _charger(OcppVersion.V201, "B")
    assert command_check.codec_of(command_check.protocol_of(v16)) is v16_codec
    assert command_check.codec_of(command_check.protocol_of(v201)) is v201_codec
    assert "GetBaseReport" in command_check.protocol_of(v201).csms_initiated


def test_the_port_judges_an_intent_by_the_chargers_version():
    v16, v201 = _charger(OcppVersion.V16, "A"), _charger(OcppVersion.V201, "B")
    with pytest.raises(ValidationError, match=r"OCPP 1\.6 has no operation"):
        request_command(charger=v16, intent=i.RequestReport(base="full_inventory"))
    command = request_command(charger=v201, intent=i.RequestReport(base="full_inventory"))
    assert command.intent == "request_report"
    # 2.0.1 unlocks a connector of an EVSE: no guess without it.
    with pytest.raises(ValidationError, match="give the EVSE"):
        request_command(charger=v201, intent=i.Unlock(connector=1))
    # Its schema judges the neutral fields: an id token of 2.0.1's 36 characters at most.
    with pytest.raises(ValidationError, match=r"OCPP 2\.0\.1 cannot carry this"):
        request_command(charger=v201, intent=i.RemoteStart(id_token="T" * 37, connector=1))


def test_a_raw_201_call_is_read_as_the_intent_it_amounts_to():
    v201 = _charger(OcppVersion.V201)
    command = request_command(
        charger=v201, intent=i.RawCall(action="GetBaseReport", payload={"requestId": 4, "reportBase": "FullInventory"})
    )
    assert intent_of(command) == i.RequestReport(base="full_inventory", request_id=4)
    with pytest.raises(ValidationError, match="not a request the central system sends"):
        request_command(charger=v201, intent=i.RawCall(action="TransactionEvent", payload={}))


def test_a_raw_201_set_variables_of_the_password_is_refused():
    v201 = _charger(OcppVersion.V201)
    payload = {
        "setVariableData": [
            {
                "attributeValue": "x" * 20,
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    }
    with pytest.raises(ValidationError, match="BasicAuthPassword cannot be set"):
        request_command(charger=v201, intent=i.RawCall(action="SetVariables", payload=payload))
    with pytest.raises(ValidationError, match="BasicAuthPassword cannot be set"):
        request_command(
            charger=v201, intent=i.ChangeSetting(key="BasicAuthPassword", value="x", component="SecurityCtrlr")
        )
    assert not Command.objects.exists()


def test_the_api_refuses_a_201_only_intent_for_a_16_charger():
    charger = _charger(OcppVersion.V16)
    response = _operator(charger).post(
        "/api/v1/chargers/V-1/commands", {"intent": "request_report", "base": "full_inventory"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["errors"]["intent"][0]
    assert "V-1 speaks OCPP 1.6, which has no request_report" in message
    assert "unlock" in message
    assert not Command.objects.exists()


def test_the_api_queues_a_201_only_intent_for_a_201_charger():
    charger = _charger(OcppVersion.V201)
    response = _operator(charger).post(
        "/api/v1/chargers/V-1/commands", {"intent": "request_report", "base": "full_inventory"}, format="json"
    )
    assert response.status_code == 202, response.json()
    command = Command.objects.get()
    # The request id left out is the command's own (the station's NotifyReport names it).
    assert intent_of(command) == i.RequestReport(base="full_inventory", request_id=command.pk)


def test_the_api_refuses_what_the_201_codec_does_not_carry(monkeypatch):
    """Vice versa: a kind the 2.0.1 codec left out (none today) is refused for a 2.0.1 charger."""
    monkeypatch.setattr(v201_codec, "SUPPORTED_INTENTS", v201_codec.SUPPORTED_INTENTS - {"clear_cache"})
    charger = _charger(OcppVersion.V201)
    response = _operator(charger).post("/api/v1/chargers/V-1/commands", {"intent": "clear_cache"}, format="json")
    assert response.status_code == 400
    assert "speaks OCPP 2.0.1, which has no clear_cache" in response.json()["errors"]["intent"][0]


def test_the_admin_offers_each_charger_its_versions_forms(client):
    v16, v201 = _charger(OcppVersion.V16, "A"), _charger(OcppVersion.V201, "B")
    assert "request_report" not in command_forms_for(v16)
    assert {"request_report", "get_transaction_status", "set_monitoring_base"} <= set(command_forms_for(v201))
    assert "unlock" in command_forms_for(v16)
    assert "unlock" in command_forms_for(v201)

    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=v16.site.organization, role="operator")
    MembershipFactory(user=user, organization=v201.site.organization, role="operator")
    client.force_login(user)
    page_16 = client.get(f"/admin/sites/charger/{v16.pk}/command/")
    page_201 = client.get(f"/admin/sites/charger/{v201.pk}/command/")
    assert page_16.status_code == page_201.status_code == 200
    kinds_16 = {kind for _title, kind in page_16.context["intents_allowed"]}
    kinds_201 = {kind for _title, kind in page_201.context["intents_allowed"]}
    assert "request_report" in kinds_201
    assert "request_report" not in kinds_16
    # Every 2.0.1-only operation has its form, offered to the 2.0.1 charger only.
    assert kinds_201 >= ONLY_201
    assert not ONLY_201 & kinds_16
    assert set(command_forms_for(v201)) >= ONLY_201
    assert not ONLY_201 & set(command_forms_for(v16))
    for kind in ONLY_201:
        form_page = client.get(f"/admin/sites/charger/{v201.pk}/command/?intent={kind}")
        assert form_page.status_code == 200, kind
        assert form_page.context["form"].fields, kind
    # A 2.0.1-only form asked for on a 1.6 charger is not offered.
    assert client.get(f"/admin/sites/charger/{v16.pk}/command/?intent=request_report").status_code == 403


def _admin_post(client, charger, kind: str, fields: dict):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client.force_login(user)
    return client.post(f"/admin/sites/charger/{charger.pk}/command/?intent={kind}", {"command_intent": kind, **fields})


def test_the_admin_queues_a_201_only_intent_from_its_form(client):
    charger = _charger(OcppVersion.V201)
    fields = {"variable": "EVSE.Power", "monitor_kind": "lower_threshold", "value": "1000", "severity": "6"}
    response = _admin_post(client, charger, "set_variable_monitoring", fields)
    assert response.status_code == 302
    monitor = i.VariableMonitor(variable="EVSE.Power", kind=i.MonitorKind.LOWER_THRESHOLD, value=1000, severity=6)
    assert intent_of(Command.objects.get()) == i.SetVariableMonitoring(monitors=(monitor,))


def test_a_network_profile_below_the_chargers_security_profile_is_a_form_error(client):
    """The outbound port's refusal (sites.commands.rules.check_network_profile) shows on the form."""
    charger = _charger(OcppVersion.V201)
    charger.security_profile = 3
    charger.save(update_fields=["security_profile"])
    fields = {
        "slot": 1,
        "csms_url": "wss://csms.example.com/ocpp",
        "protocol_version": "2.0.1",
        "security_profile": "2",
        "wireless": "wired",
    }
    response = _admin_post(client, charger, "set_network_profile", fields)
    assert response.status_code == 200
    assert "cannot lower the security profile" in " ".join(response.context["form"].non_field_errors())
    assert not Command.objects.exists()
