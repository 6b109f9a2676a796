"""The 2.0.1 device model: report parts stored as they arrive (B07/B08), completion, stale rows
after a full report, monitors (N02), events and problems (N07), and tenant scoping of the
selectors, the admin and the API."""

import datetime as dt

import pytest
from django.test import TestCase
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from sites.device_model.models import DeviceEvent, DeviceReport, DeviceVariable, VariableMonitor
from sites.device_model.selectors import device_model_summary, device_variables_visible_to
from sites.device_model.services import (
    ComponentVariableRef,
    DeviceEventIn,
    ReportedMonitor,
    ReportedVariable,
    ReportPart,
    VariableAttribute,
    VariableCharacteristics,
    record_device_events,
    record_monitoring_report_part,
    record_report_part,
)
from sites.models import Charger, Command, CommandStatus
from sites.sharing import share_charger
from sites.signals import device_problems_reported
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
INT = VariableCharacteristics(data_type="integer", supports_monitoring=True, unit="s", min_limit=0, max_limit=3600)


def variable(component: str, name: str, value: str | None, *, evse: int = 0, **attribute) -> ReportedVariable:
    return ReportedVariable(
        ref=ComponentVariableRef(component=component, variable=name, evse_id=evse),
        attributes=(VariableAttribute(value=value, **attribute),),
        characteristics=INT,
    )


def part(seq_no: int, *, tbc: bool, request_id: int = 7, at: dt.datetime = T0) -> ReportPart:
    return ReportPart(request_id=request_id, generated_at=at, seq_no=seq_no, tbc=tbc)


def send(charger: Charger, seq_no: int, variables: list[ReportedVariable], *, tbc: bool, **kwargs) -> DeviceReport:
    return record_report_part(
        charger_id=charger.pk, part=part(seq_no, tbc=tbc, **kwargs), variables=variables, received_at=T0
    )


def values(charger: Charger) -> dict[tuple, str | None]:
    return {
        (row.component_name, row.evse_id, row.variable_name, row.attribute_type): row.value
        for row in DeviceVariable.objects.filter(charger=charger)
    }


# --- Reports in parts -------------------------------------------------------------------------


def test_a_report_in_parts_is_stored_as_it_arrives_and_completes_with_tbc_false():
    charger = ChargerFactory()
    first = send(charger, 0, [variable("OCPPCommCtrlr", "HeartbeatInterval", "300", mutability="ReadWrite")],
                 tbc=True)  # fmt: skip
    assert not first.complete
    assert values(charger) == {("OCPPCommCtrlr", 0, "HeartbeatInterval", "Actual"): "300"}

    second = send(charger, 1, [variable("EVSE", "Power", "22000", evse=1, mutability="ReadOnly")], tbc=False)
    assert second.pk == first.pk  # B07.FR.04: the same requestId, the same report
    second.refresh_from_db()
    assert (second.parts_received, second.last_seq_no, second.items, second.complete) == (2, 1, 2, True)
    row = DeviceVariable.objects.get(charger=charger, evse_id=1)
    assert (row.mutability, row.unit, row.data_type, row.max_limit, row.supports_monitoring) == (
        "ReadOnly", "s", "integer", 3600, True,
    )  # fmt: skip
    assert row.report_id == first.pk
    summary = device_model_summary(charger.pk)
    assert (summary.variables, summary.last_report.pk) == (2, first.pk)


def test_a_part_sent_again_is_stored_once_and_counted_once():
    charger = ChargerFactory()
    items = [variable("OCPPCommCtrlr", "HeartbeatInterval", "300")]
    send(charger, 0, items, tbc=True)
    send(charger, 0, items, tbc=True)  # our answer was lost: the station sends part 0 again
    send(charger, 1, items, tbc=True)
    send(charger, 1, items, tbc=True)
    [report] = DeviceReport.objects.filter(charger=charger)
    assert (report.parts_received, report.items) == (2, 2)
    assert DeviceVariable.objects.filter(charger=charger).count() == 1


def test_a_new_report_upserts_values_and_keeps_characteristics_it_does_not_repeat():
    charger = ChargerFactory()
    send(charger, 0, [variable("OCPPCommCtrlr", "HeartbeatInterval", "300")], tbc=False)
    without_characteristics = ReportedVariable(
        ref=ComponentVariableRef(component="OCPPCommCtrlr", variable="HeartbeatInterval"),
        attributes=(VariableAttribute(value="60"), VariableAttribute(type="Target", value=None)),
    )
    record_report_part(
        charger_id=charger.pk,
        part=part(0, tbc=False, request_id=8, at=T0 + dt.timedelta(hours=1)),
        variables=[without_characteristics],
        received_at=T0,
    )
    assert values(charger) == {
        ("OCPPCommCtrlr", 0, "HeartbeatInterval", "Actual"): "60",
        ("OCPPCommCtrlr", 0, "HeartbeatInterval", "Target"): None,  # B07.FR.11: reported without a value
    }
    actual = DeviceVariable.objects.get(charger=charger, attribute_type="Actual")
    assert (actual.unit, actual.max_limit) == ("s", 3600)
    assert actual.reported_at == T0 + dt.timedelta(hours=1)
    assert DeviceReport.objects.filter(charger=charger).count() == 2


def test_seq_no_0_of_a_request_id_used_again_starts_a_new_report():
    charger = ChargerFactory()
    send(charger, 0, [], tbc=False)
    send(charger, 0, [], tbc=True, at=T0 + dt.timedelta(days=1))
    assert [r.complete for r in DeviceReport.objects.filter(charger=charger).order_by("pk")] == [True, False]


def test_a_complete_full_inventory_marks_what_it_did_not_report_stale():
    charger = ChargerFactory()
    send(charger, 0, [variable("Old", "Gone", "1"), variable("Kept", "Here", "1")], tbc=False, request_id=1)
    Command.objects.create(
        charger=charger,
        intent="raw",
        action="GetBaseReport",
        payload={"requestId": 2, "reportBase": "FullInventory"},
        status=CommandStatus.ACCEPTED,
        expires_at=T0,
    )
    send(charger, 0, [variable("Kept", "Here", "2")], tbc=True, request_id=2)
    assert not DeviceVariable.objects.filter(stale=True).exists()  # not before the report is complete
    report = send(charger, 1, [], tbc=False, request_id=2)
    assert report.full
    assert dict(DeviceVariable.objects.values_list("component_name", "stale")) == {"Old": True, "Kept": False}
    assert device_model_summary(charger.pk).stale == 1


def test_a_report_of_a_subset_marks_nothing_stale():
    charger = ChargerFactory()
    send(charger, 0, [variable("Old", "Gone", "1")], tbc=False, request_id=1)
    Command.objects.create(
        charger=charger, intent="raw", action="GetBaseReport", status=CommandStatus.ACCEPTED, expires_at=T0,
        payload={"requestId": 2, "reportBase": "ConfigurationInventory"},
    )  # fmt: skip
    send(charger, 0, [variable("Kept", "Here", "2")], tbc=False, request_id=2)
    assert not DeviceVariable.objects.filter(stale=True).exists()


def test_monitors_are_upserted_by_their_id():
    charger = ChargerFactory()
    ref = ComponentVariableRef(component="EVSE", variable="Power", evse_id=1)
    monitor = ReportedMonitor(ref=ref, monitor_id=3, type="UpperThreshold", severity=4, value=22000, transaction=False)
    record_monitoring_report_part(charger_id=charger.pk, part=part(0, tbc=True), monitors=[monitor], received_at=T0)
    changed = ReportedMonitor(ref=ref, monitor_id=3, type="Delta", severity=2, value=100, transaction=True)
    report = record_monitoring_report_part(
        charger_id=charger.pk, part=part(1, tbc=False), monitors=[changed], received_at=T0
    )
    row = VariableMonitor.objects.get(charger=charger)
    assert (row.monitor_type, row.severity, row.value, row.transaction, row.evse_id) == ("Delta", 2, 100, True, 1)
    assert (report.kind, report.complete, report.parts_received) == ("monitors", True, 2)


# --- Events -----------------------------------------------------------------------------------


def event(event_id: int, component: str, name: str, value: str, **fields) -> DeviceEventIn:
    return DeviceEventIn(
        ref=ComponentVariableRef(component=component, variable=name, evse_id=fields.pop("evse", 0)),
        event_id=event_id,
        timestamp=fields.pop("timestamp", T0),
        trigger=fields.pop("trigger", "Delta"),
        actual_value=value,
        notification_type=fields.pop("notification_type", "HardWiredNotification"),
        **fields,
    )


def test_events_are_stored_once_and_problems_raised_once_committed():
    charger = ChargerFactory()
    heard = []

    def listener(problems, **kwargs):
        heard.extend(problems)

    device_problems_reported.connect(listener)
    try:
        events = [
            event(1, "ChargingStation", "Problem", "true", tech_code="E42", tech_info="fan"),
            event(2, "EVSE", "Power", "7400", trigger="Periodic", evse=1),
            event(3, "Connector", "Temperature", "95", trigger="Alerting", notification_type="CustomMonitor"),
            event(4, "Connector", "Temperature", "60", trigger="Alerting", cleared=True),  # N07.FR.02
            event(5, "ChargingStation", "Problem", "false"),
        ]
        with TestCase.captureOnCommitCallbacks(execute=True):
            stored = record_device_events(charger_id=charger.pk, generated_at=T0, events=events, received_at=T0)
        with TestCase.captureOnCommitCallbacks(execute=True):  # sent again: nothing new
            again = record_device_events(charger_id=charger.pk, generated_at=T0, events=events, received_at=T0)
    finally:
        device_problems_reported.disconnect(listener)
    assert (len(stored), again) == (5, [])
    assert set(DeviceEvent.objects.filter(problem=True).values_list("event_id", flat=True)) == {1, 3}
    assert [(p.component, p.variable, p.tech_code) for p in heard] == [
        ("ChargingStation", "Problem", "E42"),
        ("Connector", "Temperature", ""),
    ]


# --- Tenant scoping ---------------------------------------------------------------------------


@pytest.fixture
def two_tenants():
    mine, theirs = ChargerFactory(charge_point_id="MINE"), ChargerFactory(charge_point_id="THEIRS")
    for charger in (mine, theirs):
        send(charger, 0, [variable("SecurityCtrlr", "OrganizationName", charger.charge_point_id)], tbc=False)
        record_device_events(
            charger_id=charger.pk, generated_at=T0, events=[event(1, "X", "Problem", "true")], received_at=T0
        )
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=mine.site.organization, role="operator")
    return user, mine, theirs


def test_selectors_show_only_the_users_organization(two_tenants):
    user, *_ = two_tenants
    assert list(device_variables_visible_to(user).values_list("value", flat=True)) == ["MINE"]


def test_admin_lists_and_searches_only_the_users_rows(client, two_tenants):
    user, mine, theirs = two_tenants
    client.force_login(user)
    url = reverse("admin:sites_devicevariable_changelist")
    listed = client.get(url)
    assert listed.status_code == 200
    assert [row.value for row in listed.context["cl"].result_list] == ["MINE"]
    assert list(client.get(url, {"q": "THEIRS"}).context["cl"].result_list) == []
    found = client.get(url, {"q": "OrganizationName"}).context["cl"].result_list
    assert [row.charger_id for row in found] == [mine.pk]
    assert client.get(reverse("admin:sites_devicevariable_change", args=[found[0].pk])).status_code == 200
    foreign = DeviceVariable.objects.get(charger=theirs)
    assert client.get(reverse("admin:sites_devicevariable_change", args=[foreign.pk])).status_code == 302
    events = client.get(reverse("admin:sites_deviceevent_changelist")).context["cl"].result_list
    assert [e.charger_id for e in events] == [mine.pk]
    page = client.get(reverse("admin:sites_charger_change", args=[mine.pk])).content.decode()
    assert "Device model (1 variables, report of 4 Dec 2026, 11:00:00 CET, complete)" in page
    assert f"charger__id__exact={mine.pk}" in page


def test_admin_device_model_is_read_only(client, two_tenants):
    user, mine, _ = two_tenants
    client.force_login(user)
    row = DeviceVariable.objects.get(charger=mine)
    response = client.post(reverse("admin:sites_devicevariable_change", args=[row.pk]), {"value": "x"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.value == "MINE"


def test_api_lists_filters_and_searches_the_chargers_variables(two_tenants):
    user, *_ = two_tenants
    api = APIClient()
    api.force_authenticate(user)
    url = reverse("charger-variables", args=["MINE"])
    body = api.get(url).json()
    assert [row["value"] for row in body["results"]] == ["MINE"]
    assert body["results"][0]["variable_name"] == "OrganizationName"
    assert api.get(url, {"component_name": "Other"}).json()["results"] == []
    assert len(api.get(url, {"search": "organization"}).json()["results"]) == 1
    assert api.get(url, {"mutability": "ReadWrite", "stale": "false"}).json()["count"] == 1
    # Another organization's charger does not exist for this user.
    assert api.get(reverse("charger-variables", args=["THEIRS"])).status_code == 404
    assert api.get(reverse("charger-device-events", args=["THEIRS"])).status_code == 404
    [problem] = api.get(reverse("charger-device-events", args=["MINE"]), {"problem": "true"}).json()["results"]
    assert problem["variable_name"] == "Problem"
    [report] = api.get(reverse("charger-device-reports", args=["MINE"])).json()["results"]
    assert (report["kind"], report["complete"]) == ("variables", True)
    assert api.get(reverse("charger-monitors", args=["MINE"])).json()["results"] == []


def test_a_partner_sees_a_shared_charger_but_not_its_device_model(two_tenants):
    _, mine, _ = two_tenants
    partner_org = OrganizationFactory(kind="partner")
    share_charger(charger=mine, partner=partner_org)
    partner = UserFactory()
    MembershipFactory(user=partner, organization=partner_org, role="partner")
    api = APIClient()
    api.force_authenticate(partner)
    assert api.get(reverse("charger-detail", args=["MINE"])).status_code == 200
    assert api.get(reverse("charger-variables", args=["MINE"])).status_code == 404
    assert api.get(reverse("charger-device-events", args=["MINE"])).status_code == 404
