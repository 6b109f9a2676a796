"""Alerts (issue 19): raised and resolved by the sweep and the signals, acknowledged and resolved
by people (audited), emailed to the organization's subscribers, listed in the admin."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Activity, Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import ChargingSession
from charging.tests.factories import ChargingSessionFactory
from reports import alerts
from reports.models import Alert, AlertKind, AlertState, AlertSubscription
from sites.models import Charger, SecurityEvent
from sites.security_events import record_security_event
from sites.services import StatusNotificationIn, StatusReport, record_status_notifications
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


@pytest.fixture
def charger(org):
    charger = ChargerFactory(site=SiteFactory(organization=org, timezone="Europe/Paris"), charge_point_id="CP-ALERT")
    ConnectorFactory(charger=charger, connector_id=1)
    return charger


def member(org, role=Role.OPERATOR, email=None, subscribed_to=None):
    user = UserFactory(is_staff=True, **({"email": email} if email else {}))
    MembershipFactory(user=user, organization=org, role=role)
    if subscribed_to is not None:
        AlertSubscription.objects.create(organization=org, user=user, kinds=subscribed_to)
    return user


def went_offline(charger, last_seen):
    Charger.objects.filter(pk=charger.pk).update(is_online=False, last_seen_at=last_seen)


# --- charger offline -----------------------------------------------------------------------------


def test_a_charger_offline_longer_than_the_setting_raises_one_alert(charger, settings):
    settings.ALERTS_OFFLINE_AFTER = 15
    went_offline(charger, NOW - dt.timedelta(minutes=10))
    assert alerts.sweep_alerts(now=NOW).raised == 0
    went_offline(charger, NOW - dt.timedelta(minutes=20))
    assert alerts.sweep_alerts(now=NOW).raised == 1
    assert alerts.sweep_alerts(now=NOW + dt.timedelta(minutes=5)).raised == 0  # the same outage
    alert = Alert.objects.get()
    assert (alert.kind, alert.state, alert.charger, alert.organization) == (
        AlertKind.CHARGER_OFFLINE, AlertState.OPEN, charger, charger.site.organization,
    )  # fmt: skip
    # In the site's time zone (Paris, UTC+1 in December), to the second.
    assert alert.summary == "CP-ALERT has been offline since 5 Dec 2026, 12:40:00 CET"


def test_the_offline_alert_resolves_itself_when_the_charger_is_back(charger):
    went_offline(charger, NOW - dt.timedelta(hours=1))
    alerts.sweep_alerts(now=NOW)
    Charger.objects.filter(pk=charger.pk).update(is_online=True, last_seen_at=NOW)
    assert alerts.sweep_alerts(now=NOW + dt.timedelta(minutes=1)).resolved == 1
    alert = Alert.objects.get()
    assert (alert.state, alert.resolved_by, alert.resolution) == (
        AlertState.RESOLVED, None, "The charger is back online.",
    )  # fmt: skip


def test_an_outage_resolved_by_a_person_is_not_raised_again_but_the_next_one_is(charger, org):
    operator = member(org)
    went_offline(charger, NOW - dt.timedelta(hours=1))
    alerts.sweep_alerts(now=NOW)
    alerts.resolve_alerts(Alert.objects.all(), by=operator, resolution="Site closed for works")
    assert alerts.sweep_alerts(now=NOW + dt.timedelta(minutes=5)).raised == 0
    went_offline(charger, NOW + dt.timedelta(hours=1))  # it came back, and went again
    assert alerts.sweep_alerts(now=NOW + dt.timedelta(hours=2)).raised == 1
    assert Alert.objects.count() == 2


def test_a_charger_never_seen_raises_nothing(charger):
    assert alerts.sweep_alerts(now=NOW).raised == 0


# --- faults --------------------------------------------------------------------------------------


def report_status(charger, connector_id, status, error_code="NoError", *, at=NOW):
    return record_status_notifications(
        [StatusNotificationIn(charger.pk, StatusReport(connector_id, status, error_code, timestamp=at), at)]
    )


def test_a_connector_entering_faulted_raises_an_alert_and_leaving_resolves_it(
    charger, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_status(charger, 1, "Faulted", "GroundFailure")
    alert = Alert.objects.get()
    assert (alert.kind, alert.state) == (AlertKind.CHARGER_FAULT, AlertState.OPEN)
    assert alert.summary == "CP-ALERT connector 1 is faulted: GroundFailure"
    with django_capture_on_commit_callbacks(execute=True):
        report_status(charger, 1, "Faulted", "HighTemperature", at=NOW + dt.timedelta(seconds=5))
    assert Alert.objects.count() == 1  # still the same fault
    with django_capture_on_commit_callbacks(execute=True):
        report_status(charger, 1, "Available", at=NOW + dt.timedelta(minutes=1))
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == (AlertState.RESOLVED, "The state left Faulted.")


def test_an_error_code_with_a_working_state_raises_nothing(charger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_status(charger, 1, "Available", "WeakSignal")
    assert not Alert.objects.exists()


def test_the_sweep_resolves_a_fault_whose_recovery_signal_was_lost(charger):
    alerts.apply_status_changes([alerts.StatusChange(charger.pk, 0, "Available", "Faulted", "PowerMeterFailure", NOW)])
    assert Alert.objects.get().summary == "CP-ALERT is faulted: PowerMeterFailure"
    Charger.objects.filter(pk=charger.pk).update(status="Faulted")
    assert alerts.sweep_alerts(now=NOW).resolved == 0
    Charger.objects.filter(pk=charger.pk).update(status="Available")
    assert alerts.sweep_alerts(now=NOW).resolved == 1


# --- stuck sessions ------------------------------------------------------------------------------


def stuck_session(charger, settings):
    settings.SESSION_STUCK_AFTER = 30
    session = ChargingSessionFactory(connector=charger.connectors.get(), started_at=NOW - dt.timedelta(hours=2))
    ChargingSession.objects.filter(pk=session.pk).update(start_received_at=NOW - dt.timedelta(hours=2))
    return session


def test_a_session_that_shows_nothing_raises_an_alert_that_resolves_when_it_ends(charger, settings):
    session = stuck_session(charger, settings)
    assert alerts.sweep_alerts(now=NOW).raised == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.session) == (AlertKind.SESSION_STUCK, session)
    assert "has shown nothing for 30 minutes" in alert.summary
    ChargingSession.objects.filter(pk=session.pk).update(state="completed", stopped_at=NOW)
    assert alerts.sweep_alerts(now=NOW).resolved == 1
    assert Alert.objects.get().resolution == "The session ended."


def test_a_stuck_session_a_person_resolved_is_not_raised_again(charger, org, settings):
    stuck_session(charger, settings)
    alerts.sweep_alerts(now=NOW)
    alerts.resolve_alerts(Alert.objects.all(), by=member(org), resolution="Driver says it is fine")
    assert alerts.sweep_alerts(now=NOW + dt.timedelta(minutes=5)).raised == 0


# --- critical security events --------------------------------------------------------------------


def test_a_critical_security_event_raises_an_alert_and_acknowledging_it_acknowledges_the_event(
    charger, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record_security_event(
            charge_point_id=charger.charge_point_id, charger_id=charger.pk, kind="ClientCertificateRefused", detail={}
        )
        record_security_event(
            charge_point_id=charger.charge_point_id, charger_id=charger.pk, kind="ChargerKeyRotated", detail={}
        )  # not critical
    alert = Alert.objects.get()
    assert (alert.kind, alert.security_event) == (AlertKind.SECURITY_EVENT, event)
    operator = member(org)
    assert alerts.acknowledge_alerts(Alert.objects.all(), by=operator) == 1
    event.refresh_from_db()
    assert event.acknowledged_by == operator


def test_acknowledging_the_event_elsewhere_resolves_its_alert(charger):
    event = record_security_event(
        charge_point_id=charger.charge_point_id, charger_id=charger.pk, kind="ClientCertificateRefused", detail={}
    )
    assert alerts.sweep_alerts(now=timezone.now()).raised == 1  # caught up: the signal's task never ran
    SecurityEvent.objects.filter(pk=event.pk).update(acknowledged_at=timezone.now())
    assert alerts.sweep_alerts(now=timezone.now()).resolved == 1


# --- people: acknowledge, resolve, audit ---------------------------------------------------------


def test_acknowledge_and_resolve_record_who_when_and_the_audit(charger, org):
    operator = member(org)
    went_offline(charger, NOW - dt.timedelta(hours=1))
    alerts.sweep_alerts(now=NOW)
    assert alerts.acknowledge_alerts(Alert.objects.all(), by=operator) == 1
    assert alerts.acknowledge_alerts(Alert.objects.all(), by=operator) == 0  # once
    assert alerts.resolve_alerts(Alert.objects.all(), by=operator, resolution="Router rebooted") == 1
    alert = Alert.objects.get()
    assert (alert.acknowledged_by, alert.resolved_by, alert.resolution) == (operator, operator, "Router rebooted")
    assert list(Activity.objects.filter(object_type="reports.alert").values_list("verb", "actor", "organization")) == [
        ("resolved", operator.pk, org.pk),
        ("acknowledged", operator.pk, org.pk),
    ]


def test_at_most_one_unresolved_alert_per_subject(charger):
    condition = alerts.Condition(
        kind=AlertKind.CHARGER_FAULT, subject="fault:1:0:1", organization_id=charger.site.organization_id, summary="x"
    )
    assert len(alerts.raise_alerts([condition, condition])) == 1
    assert alerts._open(condition, NOW) is None  # another process's insert loses to the constraint


# --- email ---------------------------------------------------------------------------------------


def test_subscribers_of_the_kind_are_emailed_once_each(charger, org, django_capture_on_commit_callbacks):
    member(org, email="all@example.com", subscribed_to=[])
    member(org, email="offline@example.com", subscribed_to=[AlertKind.CHARGER_OFFLINE])
    member(org, email="faults@example.com", subscribed_to=[AlertKind.CHARGER_FAULT])
    member(org, email="silent@example.com")  # not subscribed
    partner = member(org, role=Role.PARTNER, email="partner@example.com", subscribed_to=[])
    other = OrganizationFactory(slug="other")
    AlertSubscription.objects.create(organization=other, user=member(other, email="other@example.com"), kinds=[])
    went_offline(charger, NOW - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        alerts.sweep_alerts(now=NOW)
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "all@example.com",
        "offline@example.com",
    ]
    message = mail.outbox[0]
    assert message.subject.startswith("[Alpha Charging] Charger offline: CP-ALERT has been offline since")
    alert = Alert.objects.get()
    assert reverse("admin:reports_alert_change", args=[alert.pk]) in message.body
    assert alert.notified_at is not None
    assert alerts.notify_alert(alert.pk) == 0  # never twice
    assert partner.email not in [address for m in mail.outbox for address in m.to]


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def raised(charger):
    went_offline(charger, NOW - dt.timedelta(hours=1))
    alerts.sweep_alerts(now=NOW)
    return Alert.objects.get()


def test_the_alert_list_shows_unresolved_alerts_of_the_users_organizations(client, org, raised):
    other = OrganizationFactory(slug="other")
    other_charger = ChargerFactory(site=SiteFactory(organization=other), charge_point_id="CP-OTHER")
    went_offline(other_charger, NOW - dt.timedelta(hours=1))
    alerts.sweep_alerts(now=NOW)
    client.force_login(member(org, role=Role.VIEWER))
    page = client.get(reverse("admin:reports_alert_changelist")).content.decode()
    assert "CP-ALERT has been offline" in page
    assert "CP-OTHER" not in page
    assert "5 Dec 2026, 13:00:00 CET" in page  # raised at, in the site's time zone
    alerts.resolve_ended(Alert.objects.all(), resolution="gone")
    assert "CP-ALERT has been offline" not in client.get(reverse("admin:reports_alert_changelist")).content.decode()
    resolved = client.get(reverse("admin:reports_alert_changelist") + "?state=resolved").content.decode()
    assert "CP-ALERT has been offline" in resolved


def test_an_operator_resolves_an_alert_with_what_was_done_from_its_page(client, org, raised):
    operator = member(org)
    client.force_login(operator)
    url = reverse("admin:reports_alert_resolve_one", args=[raised.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert "What was done" in form.content.decode()
    done = client.post(url, {"confirm": "yes", "resolution": "Replaced the modem"})
    assert done.status_code == 302
    raised.refresh_from_db()
    assert (raised.state, raised.resolved_by, raised.resolution) == (
        AlertState.RESOLVED, operator, "Replaced the modem",
    )  # fmt: skip


def test_acknowledge_from_the_list(client, org, raised):
    operator = member(org)
    client.force_login(operator)
    client.post(reverse("admin:reports_alert_changelist"), {"action": "acknowledge", "_selected_action": [raised.pk]})
    raised.refresh_from_db()
    assert (raised.state, raised.acknowledged_by) == (AlertState.ACKNOWLEDGED, operator)


def test_a_viewer_may_not_acknowledge(client, org, raised):
    client.force_login(member(org, role=Role.VIEWER))
    answer = client.post(reverse("admin:reports_alert_acknowledge_one", args=[raised.pk]))
    assert answer.status_code == 403
    raised.refresh_from_db()
    assert raised.state == AlertState.OPEN


def test_another_organizations_operator_may_not_handle_the_alert(client, raised):
    outsider_org = OrganizationFactory(slug="outsider")
    client.force_login(member(outsider_org))
    answer = client.post(reverse("admin:reports_alert_acknowledge_one", args=[raised.pk]))
    assert answer.status_code in (403, 404)
    raised.refresh_from_db()
    assert raised.state == AlertState.OPEN


def test_the_dashboard_and_the_sidebar_count_unresolved_alerts(client, org, raised):
    client.force_login(member(org, role=Role.VIEWER))
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="open-alerts"' in page
    assert "Alerts to handle" in page
    dashboard = client.get(reverse("admin:index")).context["dashboard"]
    assert dashboard["alerts"]["count"] == 1


def test_a_subscription_names_a_member_of_the_organization(client, org):
    admin_user = member(org, role=Role.ADMIN)
    stranger = UserFactory(email="stranger@example.com")
    client.force_login(admin_user)
    url = reverse("admin:reports_alertsubscription_add")
    refused = client.post(url, {"organization": org.pk, "user": stranger.pk, "kinds": [AlertKind.CHARGER_FAULT]})
    assert refused.status_code == 200
    assert not AlertSubscription.objects.exists()
    colleague = member(org, role=Role.MAINTENANCE, email="tech@example.com")
    saved = client.post(url, {"organization": org.pk, "user": colleague.pk, "kinds": [AlertKind.CHARGER_FAULT]})
    assert saved.status_code == 302
    assert AlertSubscription.objects.get().kinds == [AlertKind.CHARGER_FAULT]


def test_an_operator_may_not_change_who_is_emailed(client, org):
    client.force_login(member(org))
    assert client.get(reverse("admin:reports_alertsubscription_add")).status_code == 403


# --- the API -------------------------------------------------------------------------------------


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_lists_unresolved_alerts_of_the_callers_organizations(org, raised):
    other = OrganizationFactory(slug="other")
    went_offline(ChargerFactory(site=SiteFactory(organization=other), charge_point_id="CP-OTHER"), NOW)
    alerts.sweep_alerts(now=NOW + dt.timedelta(hours=1))
    listed = api_as(member(org, role=Role.VIEWER)).get("/api/v1/alerts").json()
    assert [(a["id"], a["charge_point_id"], a["state"]) for a in listed["results"]] == [(raised.pk, "CP-ALERT", "open")]
    alerts.resolve_ended(Alert.objects.filter(pk=raised.pk), resolution="gone")
    viewer = api_as(member(org, role=Role.VIEWER))
    assert viewer.get("/api/v1/alerts").json()["results"] == []
    assert [a["id"] for a in viewer.get("/api/v1/alerts?state=resolved").json()["results"]] == [raised.pk]
    assert viewer.get("/api/v1/alerts?state=bogus").status_code == 400


def test_the_api_acknowledges_and_resolves_with_the_audit(org, raised):
    operator = member(org)
    api = api_as(operator)
    acknowledged = api.post(f"/api/v1/alerts/{raised.pk}/acknowledge")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    resolved = api.post(f"/api/v1/alerts/{raised.pk}/resolve", {"resolution": "Fixed the fuse"}, format="json")
    assert resolved.json()["state"] == "resolved"
    assert resolved.json()["resolution"] == "Fixed the fuse"
    assert set(Activity.objects.filter(object_type="reports.alert").values_list("verb", "via")) == {
        ("acknowledged", "api"),
        ("resolved", "api"),
    }


def test_a_viewer_may_not_handle_alerts_through_the_api(org, raised):
    answer = api_as(member(org, role=Role.VIEWER)).post(f"/api/v1/alerts/{raised.pk}/acknowledge")
    assert answer.status_code == 403
    assert "may not handle alerts" in answer.json()["detail"]
    other = OrganizationFactory(slug="other")
    assert api_as(member(other)).post(f"/api/v1/alerts/{raised.pk}/acknowledge").status_code == 404


def test_raising_and_resolving_announce_the_alert_after_commit(charger, django_capture_on_commit_callbacks):
    from common.signals import alert_changed

    heard = []

    def listener(sender, alerts, **kwargs):
        heard.extend((fact.alert_id, fact.state) for fact in alerts)

    alert_changed.connect(listener)
    try:
        went_offline(charger, NOW - dt.timedelta(hours=1))
        with django_capture_on_commit_callbacks(execute=True):
            alerts.sweep_alerts(now=NOW)
        alert = Alert.objects.get()
        assert heard == [(alert.pk, "open")]
        Charger.objects.filter(pk=charger.pk).update(is_online=True)
        with django_capture_on_commit_callbacks(execute=True):
            alerts.sweep_alerts(now=NOW)
        assert heard == [(alert.pk, "open"), (alert.pk, "resolved")]
    finally:
        alert_changed.disconnect(listener)


def test_a_problem_a_201_station_reports_raises_a_fault_alert_the_sweep_keeps(
    charger, org, django_capture_on_commit_callbacks
):
    from sites.signals import DeviceProblem, device_problems_reported

    problem = DeviceProblem(charger.pk, 1, 1, "Connector (EVSE 1, connector 1)", "Problem", "true", "E42", "hot", NOW)
    with django_capture_on_commit_callbacks(execute=True):
        device_problems_reported.send(sender=None, problems=[problem])
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.CHARGER_FAULT
    assert alert.summary == "CP-ALERT reports a problem: Connector (EVSE 1, connector 1) Problem = true (E42)"
    assert alerts.sweep_alerts(now=NOW).resolved == 0  # the station says nothing when it is over
    alerts.resolve_alerts(Alert.objects.all(), by=member(org), resolution="replaced the cable")
    with django_capture_on_commit_callbacks(execute=True):
        device_problems_reported.send(sender=None, problems=[problem])
    assert Alert.objects.filter(state=AlertState.OPEN).count() == 1  # reported again: a new alert
