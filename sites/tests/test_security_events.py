"""One append-only store for security events, the charger's and ours (ACCEPTANCE S13): the
charger's kept with its time and ours, merged when sent again, critical ones marked from the
security event lists; ours (failed logins, downgrades, key rotations) merged per charger and
address so that a flood is one row with a count."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, UserFactory
from sites.models import SecurityEvent
from sites.security_events import (
    FAILED_LOGIN,
    KEY_ROTATED,
    ReportedSecurityEvent,
    acknowledge_security_events,
    record_failed_login,
    record_reported_security_event,
    record_security_event,
)
from sites.services import promote_pending_key, register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
CHANGELIST = "/admin/sites/securityevent/"


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CP-SEC-1", connector_count=1)


def _reported(charger, kind: str, *, at=T0, tech_info: str = "") -> SecurityEvent:
    return record_reported_security_event(
        ReportedSecurityEvent(charger.pk, charger.charge_point_id, kind, at, T0 + dt.timedelta(seconds=3), tech_info)
    )


def test_a_reported_event_keeps_the_chargers_time_and_ours_and_is_marked_critical_from_the_list(charger):
    event = _reported(charger, "TamperDetectionActivated", tech_info="door opened")
    assert (event.source, event.severity, event.critical) == ("charger", "critical", True)
    assert (event.occurred_at, event.timestamp, event.tech_info) == (T0, T0 + dt.timedelta(seconds=3), "door opened")
    assert _reported(charger, "StartupOfTheDevice").critical  # "should be pushed" in both lists
    assert _reported(charger, "StartupOfTheDevice", at=T0 + dt.timedelta(hours=1)).severity == "info"
    assert not _reported(charger, "InvalidMessages").critical
    vendor = _reported(charger, "AcmeDoorSensorGlitch")
    assert (vendor.severity, vendor.critical) == ("warning", False)


def test_the_1_6_spellings_are_known_too(charger):
    event = _reported(charger, "InvalidCentralSystemCertificate")
    assert (event.severity, event.critical) == ("critical", False)


def test_an_event_sent_again_is_merged_into_its_row(charger):
    first = _reported(charger, "SecurityLogWasCleared")
    again = _reported(charger, "SecurityLogWasCleared")
    assert again.pk == first.pk
    assert again.repeats == 2
    assert SecurityEvent.objects.count() == 1
    _reported(charger, "SecurityLogWasCleared", at=T0 + dt.timedelta(minutes=1))  # another occurrence
    assert SecurityEvent.objects.count() == 2


def test_failed_logins_are_one_row_per_charger_and_address_within_the_window(charger):
    for _ in range(3):
        record_failed_login(charge_point_id="CP-SEC-1", charger_id=charger.pk, address="10.0.0.9", reason="wrong key")
    record_failed_login(
        charge_point_id="CP-SEC-1", charger_id=charger.pk, address="10.0.0.9", reason="wrong key", attempts=5
    )
    record_failed_login(charge_point_id="CP-SEC-1", charger_id=charger.pk, address="10.0.0.10", reason="wrong key")
    rows = {event.detail["address"]: event.repeats for event in SecurityEvent.objects.filter(kind=FAILED_LOGIN)}
    assert rows == {"10.0.0.9": 8, "10.0.0.10": 1}
    SecurityEvent.objects.update(timestamp=timezone.now() - dt.timedelta(hours=1))  # the window passed
    record_failed_login(charge_point_id="CP-SEC-1", charger_id=charger.pk, address="10.0.0.9", reason="wrong key")
    assert SecurityEvent.objects.filter(kind=FAILED_LOGIN).count() == 3


def test_our_own_events_take_severity_from_their_type_unless_given(charger):
    downgrade = record_security_event(charge_point_id="CP-SEC-1", kind="SecurityProfileDowngrade", detail={})
    assert (downgrade.source, downgrade.severity, downgrade.critical) == ("csms", "critical", True)
    given = record_security_event(charge_point_id="CP-SEC-1", kind="Whatever", detail={}, severity="critical")
    assert given.critical


def test_a_key_promoted_at_login_is_recorded_without_the_key(charger):
    charger.pending_auth_key_hash = "sha256$salt$new"
    charger.save()
    promote_pending_key(charger_id=charger.pk)
    promote_pending_key(charger_id=charger.pk)  # nothing pending any more: nothing recorded
    [event] = SecurityEvent.objects.filter(kind=KEY_ROTATED)
    assert event.charger_id == charger.pk
    assert "sha256" not in str(event.detail)


# --- Admin and API --------------------------------------------------------------------------


def test_the_admin_lists_them_with_the_critical_ones_marked_and_filterable(admin_client, charger):
    _reported(charger, "TamperDetectionActivated", tech_info="door opened")
    _reported(charger, "InvalidMessages")
    page = admin_client.get("/admin/sites/securityevent/?critical__exact=1")
    text = page.content.decode()
    assert page.status_code == 200
    assert "TamperDetectionActivated" in text
    assert "received messages that are not valid OCPP" not in text  # the other one, not critical
    assert "The tamper detection sensor was triggered" in text
    assert admin_client.get("/admin/sites/securityevent/add/").status_code == 403  # append-only


def test_the_dashboard_counts_critical_events_until_they_are_acknowledged(admin_client, charger):
    from reports.dashboard import critical_security_events

    downgrade = record_security_event(charge_point_id="CP-SEC-1", charger_id=charger.pk,
                                      kind="SecurityProfileDowngrade", detail={})  # fmt: skip
    _reported(charger, "InvalidMessages")
    SecurityEvent.objects.update(timestamp=T0)  # long ago: still raised
    user = admin_client.get("/admin/").wsgi_request.user
    raised = critical_security_events(user)
    assert raised["count"] == 1
    assert admin_client.get(raised["url"]).context["cl"].result_count == 1
    assert 'id="security-critical"' in admin_client.get("/admin/").content.decode()
    acknowledge_security_events(SecurityEvent.objects.filter(pk=downgrade.pk), by=user)
    assert critical_security_events(user)["count"] == 0


def _member(client, charger, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    client.force_login(user)
    return user


def _acknowledge(client, events: list[SecurityEvent]):
    return client.post(CHANGELIST, {"action": "acknowledge", "_selected_action": [event.pk for event in events]})


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("operator", True), ("maintenance", False),
                                               ("viewer", False)])  # fmt: skip
def test_operators_acknowledge_critical_events_and_the_event_itself_is_unchanged(client, charger, role, allowed):
    tamper = _reported(charger, "TamperDetectionActivated", tech_info="door opened")
    user = _member(client, charger, role)
    assert client.get(CHANGELIST + "?attention=raised").context["cl"].result_count == 1
    _acknowledge(client, [tamper])
    acknowledged = SecurityEvent.objects.get(pk=tamper.pk)
    if not allowed:
        assert acknowledged.acknowledged_at is None
        return
    assert acknowledged.acknowledged_by == user
    assert (acknowledged.kind, acknowledged.tech_info, acknowledged.occurred_at, acknowledged.repeats) == (
        tamper.kind, tamper.tech_info, tamper.occurred_at, tamper.repeats,
    )  # fmt: skip
    assert client.get(CHANGELIST + "?attention=raised").context["cl"].result_count == 0
    assert client.get(CHANGELIST + "?attention=acknowledged").context["cl"].result_count == 1


def test_an_operator_cannot_acknowledge_another_organizations_events(client, charger):
    other = register_charger(site=SiteFactory(), charge_point_id="CP-SEC-OTHER", connector_count=1)
    theirs = _reported(other, "TamperDetectionActivated")
    _member(client, charger, "operator")
    _acknowledge(client, [theirs])
    assert SecurityEvent.objects.get(pk=theirs.pk).acknowledged_at is None  # not in their changelist


def test_nobody_adds_changes_or_deletes_them_in_the_admin(admin_client, charger):
    event = _reported(charger, "TamperDetectionActivated")
    change = reverse("admin:sites_securityevent_change", args=[event.pk])
    delete = reverse("admin:sites_securityevent_delete", args=[event.pk])
    assert admin_client.get(change).status_code == 200  # read-only view
    assert admin_client.post(change, {"kind": "Nothing", "tech_info": "edited"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert SecurityEvent.objects.get(pk=event.pk).kind == "TamperDetectionActivated"


def test_the_charger_page_shows_its_raised_events(admin_client, charger):
    _reported(charger, "TamperDetectionActivated")
    _reported(charger, "InvalidMessages")
    page = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert "1 critical, not acknowledged" in page
    by_charger = admin_client.get(CHANGELIST + f"?charger__id__exact={charger.pk}")
    assert by_charger.context["cl"].result_count == 2


def test_the_api_lists_them_per_organization_and_per_charger(client, charger):
    from rest_framework.test import APIClient

    _reported(charger, "TamperDetectionActivated")
    record_failed_login(charge_point_id="CP-SEC-1", charger_id=charger.pk, address="10.0.0.9", reason="wrong key")
    other = register_charger(site=SiteFactory(), charge_point_id="CP-SEC-OTHER", connector_count=1)
    _reported(other, "TamperDetectionActivated")
    member = UserFactory()
    MembershipFactory(user=member, organization=charger.site.organization, role="viewer")
    api = APIClient()
    api.force_authenticate(member)
    listed = api.get("/api/v1/security-events").json()["results"]
    assert sorted((row["charge_point_id"], row["type"], row["source"]) for row in listed) == [
        ("CP-SEC-1", "InvalidChargerCredentials", "csms"),
        ("CP-SEC-1", "TamperDetectionActivated", "charger"),
    ]
    critical = api.get("/api/v1/security-events?critical=true&source=charger").json()["results"]
    assert [row["type"] for row in critical] == ["TamperDetectionActivated"]
    assert critical[0]["acknowledged_at"] is None
    acknowledge_security_events(SecurityEvent.objects.filter(kind="TamperDetectionActivated"), by=member)
    raised = api.get("/api/v1/security-events?critical=true&acknowledged=false").json()["results"]
    assert raised == []  # the only critical one of theirs is acknowledged
    assert len(api.get("/api/v1/security-events?acknowledged=true").json()["results"]) == 1
    assert len(api.get("/api/v1/chargers/CP-SEC-1/security-events").json()["results"]) == 2
    assert api.get("/api/v1/chargers/CP-SEC-OTHER/security-events").status_code == 404


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-03-01T07:59:00-00:30", 0),  # 08:29 UTC, after the event
        ("0032-02-15T18:48:31-18:47", 1),  # an offset PostgreSQL refuses: compared in UTC
    ],
)
def test_the_api_compares_times_in_utc(charger, since, expected):
    from rest_framework.test import APIClient

    from accounts.tests.factories import UserFactory

    SecurityEvent.objects.create(
        charger=charger, charge_point_id="CP-SEC-1", kind="TamperDetectionActivated", timestamp=T0
    )
    api = APIClient()
    api.force_authenticate(UserFactory(is_superuser=True))
    answer = api.get("/api/v1/security-events", {"since": since})
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["results"]) == expected


def test_a_time_that_does_not_exist_in_utc_is_the_callers_error(charger):
    from rest_framework.test import APIClient

    from accounts.tests.factories import UserFactory

    api = APIClient()
    api.force_authenticate(UserFactory(is_superuser=True))
    answer = api.get("/api/v1/security-events", {"since": "0001-01-01T00:00:00+14:00"})
    assert answer.status_code == 400
    assert "since" in answer.json()["errors"]


@pytest.mark.parametrize(("role", "status"), [("operator", 200), ("viewer", 403)])
def test_the_api_acknowledges_an_event_for_roles_that_may(charger, role, status):
    from rest_framework.test import APIClient

    tamper = _reported(charger, "TamperDetectionActivated")
    member = UserFactory()
    MembershipFactory(user=member, organization=charger.site.organization, role=role)
    api = APIClient()
    api.force_authenticate(member)
    answer = api.post(f"/api/v1/security-events/{tamper.pk}/acknowledge")
    assert answer.status_code == status, answer.content
    raised = api.get("/api/v1/security-events", {"critical": "true", "acknowledged": "false"}).json()["results"]
    if status == 200:
        assert answer.json()["acknowledged_at"] is not None
        assert raised == []
        assert SecurityEvent.objects.get(pk=tamper.pk).acknowledged_by == member
    else:
        assert [row["id"] for row in raised] == [tamper.pk]


def test_the_api_does_not_acknowledge_another_organizations_event(charger):
    from rest_framework.test import APIClient

    other = register_charger(site=SiteFactory(), charge_point_id="CP-SEC-OTHER", connector_count=1)
    theirs = _reported(other, "TamperDetectionActivated")
    member = UserFactory()
    MembershipFactory(user=member, organization=charger.site.organization, role="operator")
    api = APIClient()
    api.force_authenticate(member)
    assert api.post(f"/api/v1/security-events/{theirs.pk}/acknowledge").status_code == 404
    assert SecurityEvent.objects.get(pk=theirs.pk).acknowledged_at is None
