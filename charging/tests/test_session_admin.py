"""The session page in the admin (issue 19): a header with times in the site's time zone, the
flags and what they mean, the cost as a table with the receipt, the energy and power chart;
nothing of the session edited by a post; stop, ask, close and review through named actions;
deleting sessions for platform admins only."""

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from billing.models import SessionCost
from charging.models import ChargingSession, SessionState
from charging.tests.factories import ChargingSessionFactory, MeterValueFactory
from sites.models import Command

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:charging_chargingsession_changelist"


def change_url(session) -> str:
    return reverse("admin:charging_chargingsession_change", args=[session.pk])


def member_client(client, session, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=session.charger.site.organization, role=role)
    client.force_login(user)
    return client


def completed_with_cost() -> ChargingSession:
    session = ChargingSessionFactory(
        meter_start_wh=0, started_at=dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC), needs_review=True,
        review_notes="stop time is before start time",
    )  # fmt: skip
    ChargingSession.objects.filter(pk=session.pk).update(
        state="completed", stopped_at=dt.datetime(2026, 1, 15, 22, 0, 5, tzinfo=dt.UTC), energy_wh=20000,
        stop_reason="EVDisconnected",
    )  # fmt: skip
    session.refresh_from_db()
    breakdown = {
        "currency": "EUR",
        "lines": [{"kind": "energy", "description": "Energy at 0.40/kWh", "quantity": "20.000",
                   "unit_price": "0.40", "amount": "8.00"}],
        "net": "8.00", "vat": "1.52", "total": "9.52", "adjustments": [],
    }  # fmt: skip
    SessionCost.objects.create(
        session=session, currency="EUR", net=Decimal("8.00"), vat=Decimal("1.52"), total=Decimal("9.52"),
        breakdown=breakdown,
    )  # fmt: skip
    MeterValueFactory(session=session, timestamp=session.started_at + dt.timedelta(minutes=1), value=1000,
                      raw_value="1000")  # fmt: skip
    return session


def test_the_page_shows_the_session_its_cost_as_a_table_and_the_chart_data(client):
    session = completed_with_cost()
    response = member_client(client, session, "viewer").get(change_url(session))
    assert response.status_code == 200
    html = response.content.decode()
    # Times in the site's time zone (Europe/Berlin), to the second.
    assert "15 Jan 2026, 21:00:00 CET" in html
    assert "15 Jan 2026, 23:00:05 CET" in html
    assert "2 h 00 min 05 s" in html
    assert '<span id="session-energy">20.000</span> kWh' in html
    assert "EVDisconnected" in html
    # The flag, and what it means.
    assert "stop time is before start time" in html
    assert "the duration is wrong" in html
    # The cost as a table with its receipt, never the stored JSON.
    assert "<td>Energy at 0.40/kWh</td>" in html
    assert "9.52 EUR" in html
    cost = SessionCost.objects.get(session=session)
    assert reverse("admin:billing_sessioncost_receipt", args=[cost.pk]) in html
    assert "&quot;lines&quot;" not in html
    assert "{&#x27;" not in html
    # The chart's data, embedded as JSON for the script (json_script).
    embedded = html.split('id="session-chart-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded)["energy_kwh"] == [1.0]
    assert "chartjs-4.6.1/chart.umd.js" in html


def test_the_meter_values_show_seconds_in_the_site_time_zone(client):
    session = ChargingSessionFactory()
    MeterValueFactory(session=session, timestamp=dt.datetime(2026, 7, 1, 10, 0, 7, tzinfo=dt.UTC))
    html = member_client(client, session, "viewer").get(change_url(session)).content.decode()
    assert "1 Jul 2026, 12:00:07 CEST" in html


def test_a_post_changes_no_reading_time_state_or_charger(client, admin_user):
    session = ChargingSessionFactory(energy_wh=1500)
    other = ChargingSessionFactory()
    before = ChargingSession.objects.filter(pk=session.pk).values().get()
    for user_client in (member_client(client, session, "operator"),):
        user_client.post(
            change_url(session),
            {"state": "completed", "energy_wh": "99999", "meter_start_wh": "0", "started_at": "2020-01-01 00:00:00",
             "charger": other.charger.pk, "needs_review": "on", "_save": "Save"},
        )  # fmt: skip
    assert ChargingSession.objects.filter(pk=session.pk).values().get() == before
    assert not Activity.objects.exists()  # nothing was saved, so nothing audited


def test_delete_is_for_platform_admins_only(client, admin_client):
    session = ChargingSessionFactory()
    operator = member_client(client, session, "admin")
    assert operator.get(reverse("admin:charging_chargingsession_delete", args=[session.pk])).status_code == 403
    assert "delete_selected" not in operator.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices
    response = admin_client.get(reverse("admin:charging_chargingsession_delete", args=[session.pk]))
    assert response.status_code == 200  # Django's confirmation page
    admin_client.post(reverse("admin:charging_chargingsession_delete", args=[session.pk]), {"post": "yes"})
    assert not ChargingSession.objects.filter(pk=session.pk).exists()


def test_nobody_adds_a_session_by_hand(admin_client):
    assert admin_client.get(reverse("admin:charging_chargingsession_add")).status_code == 403


def offered(client) -> set[str]:
    form = client.get(reverse(CHANGELIST)).context["action_form"]
    return {name for name, _ in form.fields["action"].choices} if form else set()


def test_a_viewer_may_not_stop_a_session(client):
    session = ChargingSessionFactory()
    viewer = member_client(client, session, "viewer")
    assert "stop_sessions" not in offered(viewer)
    viewer.post(reverse(CHANGELIST), {"action": "stop_sessions", "_selected_action": [session.pk], "confirm": "yes"})
    assert viewer.get(reverse("admin:charging_chargingsession_stop_detail", args=[session.pk])).status_code == 403
    assert not Command.objects.exists()


def test_an_operator_stops_a_session_from_the_list_after_confirming(client):
    session = ChargingSessionFactory(transaction_id=777)
    operator = member_client(client, session, "operator")
    assert "stop_sessions" in offered(operator)
    page = operator.post(reverse(CHANGELIST), {"action": "stop_sessions", "_selected_action": [session.pk]})
    assert page.status_code == 200
    assert b"Yes, stop" in page.content
    assert not Command.objects.exists()
    operator.post(reverse(CHANGELIST), {"action": "stop_sessions", "_selected_action": [session.pk], "confirm": "yes"})
    command = Command.objects.get()
    assert command.intent == "remote_stop"
    assert command.fields["transaction_id"] == "777"


def test_an_operator_stops_a_session_from_its_page(client):
    session = ChargingSessionFactory(transaction_id=778)
    operator = member_client(client, session, "operator")
    url = reverse("admin:charging_chargingsession_stop_detail", args=[session.pk])
    assert url in operator.get(change_url(session)).content.decode()  # the button
    assert operator.get(url).status_code == 200  # the confirmation
    response = operator.post(url, {"confirm": "yes", "reason": "driver asked by phone"})
    assert response.status_code == 302
    assert Command.objects.get().fields["transaction_id"] == "778"
    assert Activity.objects.get(verb="stop requested").changes["reason"] == "driver asked by phone"


def test_an_operator_of_another_organization_cannot_stop_it(client):
    session = ChargingSessionFactory()
    stranger = UserFactory(is_staff=True)
    MembershipFactory(user=stranger, role="operator")
    client.force_login(stranger)
    client.post(reverse(CHANGELIST), {"action": "stop_sessions", "_selected_action": [session.pk], "confirm": "yes"})
    assert client.get(reverse("admin:charging_chargingsession_stop_detail", args=[session.pk])).status_code == 403
    assert not Command.objects.exists()


def test_possibly_stuck_sessions_are_listed_and_closed_with_a_reason(client):
    old = timezone.now() - dt.timedelta(hours=5)
    stuck = ChargingSessionFactory(start_received_at=old, started_at=old, energy_wh=700)
    MeterValueFactory(session=stuck, received_at=old, timestamp=old + dt.timedelta(minutes=30))
    lively = ChargingSessionFactory(start_received_at=old, started_at=old)
    MeterValueFactory(session=lively)
    operator = member_client(client, stuck, "operator")
    listed = operator.get(reverse(CHANGELIST) + "?stuck=yes").context["cl"].result_list
    assert list(listed) == [stuck]
    # the form asks for a reason
    page = operator.post(reverse(CHANGELIST), {"action": "close_sessions", "_selected_action": [stuck.pk],
                                               "confirm": "yes", "reason": ""})  # fmt: skip
    assert page.status_code == 200
    assert page.context["form"].errors["reason"]
    operator.post(reverse(CHANGELIST), {"action": "close_sessions", "_selected_action": [stuck.pk],
                                        "confirm": "yes", "reason": "charger lost the stop"})  # fmt: skip
    stuck.refresh_from_db()
    assert stuck.state == SessionState.COMPLETED
    assert stuck.stopped_at == old + dt.timedelta(minutes=30)  # its last meter value
    assert Activity.objects.get(verb="closed").changes["reason"] == "charger lost the stop"


def test_closing_from_the_page_reads_the_time_in_the_site_time_zone(client):
    started = timezone.now() - dt.timedelta(days=2)
    session = ChargingSessionFactory(started_at=started)
    operator = member_client(client, session, "operator")
    url = reverse("admin:charging_chargingsession_close_detail", args=[session.pk])
    assert operator.get(url).context["form"]["stopped_at"].value()  # proposed: the last reading (or the start)
    berlin = (started + dt.timedelta(hours=1)).astimezone(ZoneInfo("Europe/Berlin"))
    operator.post(url, {"confirm": "yes", "stopped_at": f"{berlin:%Y-%m-%d %H:%M:%S}", "reason": "zombie"})
    session.refresh_from_db()
    assert session.state == SessionState.COMPLETED
    assert session.stopped_at == (started + dt.timedelta(hours=1)).replace(microsecond=0)


def test_ask_the_charger_from_the_list(client):
    session = ChargingSessionFactory()
    operator = member_client(client, session, "operator")
    operator.post(reverse(CHANGELIST), {"action": "ask_chargers", "_selected_action": [session.pk], "confirm": "yes"})
    assert sorted(Command.objects.values_list("fields__message", flat=True)) == ["meter_values", "status"]


def test_mark_reviewed_from_the_page(client):
    session = ChargingSessionFactory(needs_review=True, review_notes="stop time is before start time")
    operator = member_client(client, session, "operator")
    url = reverse("admin:charging_chargingsession_review_detail", args=[session.pk])
    assert url in operator.get(change_url(session)).content.decode()  # the button, while flagged
    operator.post(url, {"confirm": "yes", "note": "checked the charger's log"})
    session.refresh_from_db()
    assert not session.needs_review
    assert Activity.objects.get(verb="reviewed").changes["reason"] == "checked the charger's log"
    assert url not in operator.get(change_url(session)).content.decode()


def test_the_list_leads_to_the_possibly_stuck_sessions_and_stops_from_a_row(client):
    old = timezone.now() - dt.timedelta(hours=5)
    stuck = ChargingSessionFactory(start_received_at=old, started_at=old, transaction_id=991)
    operator = member_client(client, stuck, "operator")
    html = operator.get(reverse(CHANGELIST)).content.decode()
    assert "Possibly stuck sessions: 1" in html
    row_stop = reverse("admin:charging_chargingsession_stop_row", args=[stuck.pk])
    assert row_stop in html
    assert operator.get(row_stop).status_code == 200  # the confirmation
    operator.post(row_stop, {"confirm": "yes"})
    assert Command.objects.get().fields["transaction_id"] == "991"
    # a viewer sees no stop on the rows
    viewer_client = member_client(client, stuck, "viewer")
    assert row_stop not in viewer_client.get(reverse(CHANGELIST)).content.decode()


def test_an_active_sessions_page_refreshes_from_its_live_view(client):
    session = ChargingSessionFactory(energy_wh=1234, last_power_w=Decimal("7400"))
    MeterValueFactory(session=session, value=2234, raw_value="2234")
    viewer = member_client(client, session, "viewer")
    live = reverse("admin:charging_chargingsession_live", args=[session.pk])
    assert f'data-live-url="{live}"' in viewer.get(change_url(session)).content.decode()
    figures = viewer.get(live).json()
    assert figures["active"] is True
    assert figures["energy_kwh"] == "1.234"
    assert figures["last_power_kw"] == "7.40"
    assert figures["chart"]["energy_kwh"] == [1.234]
    # another organization's user finds nothing there
    stranger = UserFactory(is_staff=True)
    MembershipFactory(user=stranger, role="operator")
    client.force_login(stranger)
    assert client.get(live).status_code == 404


def test_a_completed_sessions_page_does_not_poll(client):
    session = completed_with_cost()
    html = member_client(client, session, "viewer").get(change_url(session)).content.decode()
    assert "data-live-url" not in html


def test_meter_values_are_read_only_for_everyone(client, admin_client):
    reading = MeterValueFactory(timestamp=dt.datetime(2026, 7, 1, 10, 0, 7, tzinfo=dt.UTC))
    assert admin_client.get(reverse("admin:charging_metervalue_add")).status_code == 403
    admin_client.post(reverse("admin:charging_metervalue_change", args=[reading.pk]), {"raw_value": "9", "value": "9"})
    reading.refresh_from_db()
    assert reading.raw_value == "1500"
    listing = member_client(client, reading.session, "viewer").get(reverse("admin:charging_metervalue_changelist"))
    assert "1 Jul 2026, 12:00:07 CEST" in listing.content.decode()


def test_unmatched_stops_show_their_times_in_the_site_time_zone(admin_client):
    from charging.models import UnmatchedStop
    from sites.tests.factories import ChargerFactory, SiteFactory

    at = dt.datetime(2026, 12, 5, 13, 3, 7, 500000, tzinfo=dt.UTC)
    charger = ChargerFactory(site=SiteFactory(timezone="Europe/Paris"))
    stop = UnmatchedStop.objects.create(charger=charger, transaction_id=7, stopped_at=at, received_at=at,
                                        meter_stop_wh=100)  # fmt: skip
    for url in (reverse("admin:charging_unmatchedstop_changelist"),
                reverse("admin:charging_unmatchedstop_change", args=[stop.pk])):  # fmt: skip
        body = admin_client.get(url).content.decode()
        assert "5 Dec 2026, 14:03:07 CET" in body
        assert "2026-12-05T13:03:07" not in body
