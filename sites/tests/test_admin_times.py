"""The admin shows chargers' times in their site's time zone, to the second, never raw ISO."""

import datetime as dt

import pytest
from django.urls import reverse

from sites.models import Command, ConnectionEvent, SecurityEvent, StatusNotificationRecord
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 12, 5, 13, 3, 7, 250000, tzinfo=dt.UTC)
LOCAL = "5 Dec 2026, 14:03:07 CET"


@pytest.fixture
def charger():
    return ChargerFactory(site=SiteFactory(timezone="Europe/Paris"), last_seen_at=AT)


def _shows_local_time(body: str) -> None:
    assert LOCAL in body
    assert "2026-12-05T13:03:07" not in body
    assert "13:03:07.25" not in body
    assert "Dec. 5, 2026" not in body  # Django's default, in the server's zone (UTC)


def test_the_status_history_on_the_charger_page(admin_client, charger):
    StatusNotificationRecord.objects.create(charger=charger, connector_id=1, status="Charging", error_code="NoError",
                                            timestamp=AT, received_at=AT)  # fmt: skip
    body = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    _shows_local_time(body)
    assert "Time (charger&#x27;s clock)" in body or "Time (charger's clock)" in body


def test_the_charger_list_shows_last_seen_in_the_site_time_zone(admin_client, charger):
    _shows_local_time(admin_client.get(reverse("admin:sites_charger_changelist")).content.decode())


def test_connection_events_list_and_page(admin_client, charger):
    event = ConnectionEvent.objects.create(charger=charger, kind="online", at=AT, reason="connected")
    _shows_local_time(admin_client.get(reverse("admin:sites_connectionevent_changelist")).content.decode())
    _shows_local_time(admin_client.get(reverse("admin:sites_connectionevent_change", args=[event.pk])).content.decode())


def test_security_events_list_and_page(admin_client, charger):
    event = SecurityEvent.objects.create(charger=charger, charge_point_id=charger.charge_point_id,
                                         kind="FirmwareUpdated", timestamp=AT, occurred_at=AT)  # fmt: skip
    _shows_local_time(admin_client.get(reverse("admin:sites_securityevent_changelist")).content.decode())
    _shows_local_time(admin_client.get(reverse("admin:sites_securityevent_change", args=[event.pk])).content.decode())


def test_commands_list_and_page(admin_client, charger):
    command = Command.objects.create(charger=charger, intent="reset", created_at=AT, finished_at=AT,
                                     expires_at=AT + dt.timedelta(hours=1))  # fmt: skip
    _shows_local_time(admin_client.get(reverse("admin:sites_command_changelist")).content.decode())
    body = admin_client.get(reverse("admin:sites_command_change", args=[command.pk])).content.decode()
    _shows_local_time(body)
    assert "5 Dec 2026, 15:03:07 CET" in body  # expires


def test_an_unknown_site_less_row_says_utc(admin_client, db):
    from sites.models import UnknownCharger

    UnknownCharger.objects.create(charge_point_id="CP-NEW", first_seen_at=AT, last_seen_at=AT)
    assert (
        "5 Dec 2026, 13:03:07 UTC"
        in admin_client.get(reverse("admin:sites_unknowncharger_changelist")).content.decode()
    )
