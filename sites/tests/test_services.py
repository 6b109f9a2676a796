"""The sites services the OCPP gateway calls, called directly (no socket)."""

import datetime as dt
import logging
import uuid
from unittest import mock

import pytest
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory
from sites.credentials import verify_charger_key
from sites.models import (
    Charger,
    ChargerReport,
    Connector,
    RegistrationStatus,
    SecurityEvent,
    SecurityProfile,
    StatusNotificationRecord,
    UnknownCharger,
    UnknownChargerState,
)
from sites.security_events import record_security_event
from sites.selectors import charger_access
from sites.services import (
    BootInfo,
    Liveness,
    StatusNotificationIn,
    StatusReport,
    adopt_unknown_charger,
    auto_register_charger,
    issue_charger_key,
    mark_connected,
    mark_disconnected,
    record_boot,
    record_charger_report,
    record_liveness,
    record_status_notification,
    record_status_notifications,
    record_unknown_charger_attempt,
    register_charger,
    sweep_offline_chargers,
)
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CP-SITE-1", connector_count=2)


def _reload(charger: Charger) -> Charger:
    return Charger.objects.get(pk=charger.pk)


# --- registration and boot --------------------------------------------------------------------


def test_register_charger_validates_the_charge_point_id():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        register_charger(site=SiteFactory(), charge_point_id="bad:id")
    assert not Charger.objects.exists()


def test_issue_charger_key_replaces_the_previous_key(charger):
    first = issue_charger_key(charger=charger)
    second = issue_charger_key(charger=charger)
    stored = _reload(charger).auth_key_hash
    assert verify_charger_key(second, stored)
    assert not verify_charger_key(first, stored)


@pytest.mark.parametrize(
    ("status", "interval"),
    [(RegistrationStatus.ACCEPTED, 120), (RegistrationStatus.PENDING, 33), (RegistrationStatus.REJECTED, 33)],
)
def test_record_boot_stores_identity_and_answers_status_and_interval(settings, status, interval):
    settings.OCPP_BOOT_RETRY_INTERVAL = 33
    charger = ChargerFactory(registration_status=status, heartbeat_interval=120)
    decision = record_boot(
        charger_id=charger.pk,
        info=BootInfo(vendor="Acme", model="X1", serial_number="S1", firmware_version="2.0"),
        received_at=T0,
    )
    assert (decision.status, decision.interval) == (status, interval)
    stored = _reload(charger)
    assert (stored.vendor, stored.model, stored.serial_number, stored.firmware_version) == ("Acme", "X1", "S1", "2.0")
    assert (stored.last_boot_at, stored.last_seen_at, stored.is_online) == (T0, T0, True)
    assert stored.registration_status == status  # a boot never changes the operator's decision


def test_heartbeats_and_signs_of_life_of_the_current_connection(charger):
    current = uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=current, channel_name="chan", at=T0)
    Charger.objects.filter(pk=charger.pk).update(is_online=False)  # e.g. the offline sweep
    record_liveness([Liveness(charger.pk, current, T0 + dt.timedelta(seconds=1), heartbeat=True)])
    stored = _reload(charger)
    assert (stored.last_heartbeat_at, stored.last_seen_at, stored.is_online) == (
        T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=1), True,
    )  # fmt: skip
    record_liveness([Liveness(charger.pk, current, T0 + dt.timedelta(seconds=5))])
    stored = _reload(charger)
    assert stored.last_heartbeat_at == T0 + dt.timedelta(seconds=1)
    assert stored.last_seen_at == T0 + dt.timedelta(seconds=5)


def test_signs_of_life_in_one_batch_leave_the_latest_times(charger):
    current = uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=current, channel_name="chan", at=T0)
    at = [T0 + dt.timedelta(seconds=n) for n in range(4)]
    record_liveness(
        [
            Liveness(charger.pk, current, at[1], heartbeat=True),
            Liveness(charger.pk, current, at[3]),
            Liveness(charger.pk, current, at[2], heartbeat=True),
        ]
    )
    stored = _reload(charger)
    assert (stored.last_heartbeat_at, stored.last_seen_at) == (at[2], at[3])


def test_a_late_sign_of_life_from_a_closed_connection_changes_nothing(charger):
    old, current = uuid.uuid4(), uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=current, channel_name="chan", at=T0)
    mark_disconnected(charger_id=charger.pk, connection_id=current, at=T0 + dt.timedelta(seconds=2))
    record_liveness(
        [
            Liveness(charger.pk, current, T0 + dt.timedelta(seconds=3), heartbeat=True),
            Liveness(charger.pk, old, T0 + dt.timedelta(seconds=4)),
        ]
    )
    stored = _reload(charger)
    assert (stored.is_online, stored.last_seen_at, stored.last_heartbeat_at) == (
        False, T0 + dt.timedelta(seconds=2), None,
    )  # fmt: skip


# --- connections (R15) -----------------------------------------------------------------------


def test_mark_connected_returns_the_channel_it_replaces(charger):
    first, second = uuid.uuid4(), uuid.uuid4()
    assert mark_connected(charger_id=charger.pk, connection_id=first, channel_name="chan-1", at=T0) == ""
    stored = _reload(charger)
    assert (stored.connection_id, stored.channel_name, stored.connected_at, stored.is_online) == (
        first, "chan-1", T0, True,
    )  # fmt: skip
    assert mark_connected(charger_id=charger.pk, connection_id=second, channel_name="chan-2", at=T0) == "chan-1"
    # The same channel again (no other socket to close).
    assert mark_connected(charger_id=charger.pk, connection_id=second, channel_name="chan-2", at=T0) == ""


def test_an_older_connections_disconnect_does_not_mark_the_charger_offline(charger):
    old, new = uuid.uuid4(), uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=old, channel_name="chan-old", at=T0)
    mark_connected(charger_id=charger.pk, connection_id=new, channel_name="chan-new", at=T0 + dt.timedelta(seconds=1))

    assert mark_disconnected(charger_id=charger.pk, connection_id=old, at=T0 + dt.timedelta(seconds=2)) is False
    stored = _reload(charger)
    assert (stored.is_online, stored.channel_name, stored.connection_id) == (True, "chan-new", new)

    assert mark_disconnected(charger_id=charger.pk, connection_id=new, at=T0 + dt.timedelta(seconds=3)) is True
    stored = _reload(charger)
    assert (stored.is_online, stored.channel_name, stored.connection_id) == (False, "", None)
    assert stored.last_seen_at == T0 + dt.timedelta(seconds=3)


# --- status notifications (R23) -------------------------------------------------------------


def _status(charger, connector_id, status, at, received=None, **fields) -> bool:
    return record_status_notification(
        charger_id=charger.pk,
        report=StatusReport(connector_id=connector_id, status=status, error_code="NoError", timestamp=at, **fields),
        received_at=received or T0 + dt.timedelta(hours=1),
    )


def test_status_of_connector_0_is_the_chargers(charger):
    assert _status(charger, 0, "Unavailable", T0) is True
    stored = _reload(charger)
    assert (stored.status, stored.status_timestamp) == ("Unavailable", T0)
    assert not Connector.objects.filter(charger=charger).exclude(status="Unknown").exists()


def test_status_latest_timestamp_wins_and_history_is_kept(charger):
    assert _status(charger, 1, "Charging", T0 + dt.timedelta(minutes=5), info="hot", vendor_error_code="V1")
    assert _status(charger, 1, "Available", T0) is False
    assert _status(charger, 1, "Finishing", T0 + dt.timedelta(minutes=5)) is True  # same time: the later report wins
    connector = Connector.objects.get(charger=charger, connector_id=1)
    assert (connector.status, connector.status_timestamp) == ("Finishing", T0 + dt.timedelta(minutes=5))
    assert list(StatusNotificationRecord.objects.order_by("pk").values_list("status", "applied")) == [
        ("Charging", True), ("Available", False), ("Finishing", True),
    ]  # fmt: skip


def test_status_without_timestamp_uses_the_receipt_time(charger):
    received = T0 + dt.timedelta(minutes=1)
    _status(charger, 2, "Preparing", None, received=received)
    assert Connector.objects.get(charger=charger, connector_id=2).status_timestamp == received
    assert StatusNotificationRecord.objects.get().timestamp == received


def test_one_batch_decides_charger_wide_and_connector_reports_of_several_chargers(charger):
    other = register_charger(site=charger.site, charge_point_id="CP-SITE-2", connector_count=1)

    def report(on: Charger, connector_id: int, status: str, at: dt.datetime) -> StatusNotificationIn:
        return StatusNotificationIn(on.pk, StatusReport(connector_id, status, "NoError", timestamp=at), T0)

    applied = record_status_notifications(
        [
            report(charger, 0, "Unavailable", T0),
            report(charger, 1, "Charging", T0 + dt.timedelta(minutes=1)),
            report(other, 1, "Faulted", T0),
            report(charger, 1, "Available", T0),  # older than the report before it (R23)
            report(charger, 0, "Available", T0 + dt.timedelta(minutes=2)),
        ]
    )
    assert applied == [True, True, True, False, True]
    assert _reload(charger).status == "Available"
    assert Connector.objects.get(charger=charger, connector_id=1).status == "Charging"
    assert Connector.objects.get(charger=other, connector_id=1).status == "Faulted"
    assert _reload(other).status == "Unknown"
    assert StatusNotificationRecord.objects.count() == 5


def test_status_for_an_unknown_connector_creates_it_on_that_charger_only(charger):
    other = register_charger(site=charger.site, charge_point_id="CP-SITE-2", connector_count=1)
    _status(charger, 9, "Available", T0)
    assert Connector.objects.filter(charger=charger, connector_id=9).exists()
    assert not Connector.objects.filter(charger=other, connector_id=9).exists()


def test_reports_and_security_events(charger):
    record_charger_report(charger_id=charger.pk, kind=ChargerReport.Kind.FIRMWARE, status="Installed", received_at=T0)
    report = ChargerReport.objects.get()
    assert (report.charger, report.kind, report.status, report.received_at) == (charger, "firmware", "Installed", T0)

    event = record_security_event(
        charger_id=charger.pk, charge_point_id=charger.charge_point_id, kind="Test", detail={"a": 1}
    )
    assert SecurityEvent.objects.get() == event
    assert (event.kind, event.severity, event.detail) == ("Test", "warning", {"a": 1})


# --- unknown chargers (S1) -------------------------------------------------------------------


def _attempt(charge_point_id: str, at=T0, **fields) -> None:
    fields.setdefault("remote_address", "192.0.2.1")
    fields.setdefault("subprotocols", "ocpp1.6")
    record_unknown_charger_attempt(charge_point_id=charge_point_id, at=at, **fields)


def test_unknown_charger_attempts_are_counted_per_id():
    _attempt("CP-X")
    _attempt("CP-X", at=T0 + dt.timedelta(minutes=1), remote_address="192.0.2.2")
    entry = UnknownCharger.objects.get()
    assert (entry.attempts, entry.first_seen_at, entry.last_seen_at) == (2, T0, T0 + dt.timedelta(minutes=1))
    assert (entry.remote_address, entry.subprotocols, entry.state) == ("192.0.2.2", "ocpp1.6", "new")


def test_unknown_charger_attempts_carry_a_count_and_the_boot_identity():
    _attempt("CP-X", attempts=3)
    _attempt("CP-X", remote_address="", subprotocols="", boot=BootInfo(vendor="Acme", model="M" * 60), attempts=1)
    entry = UnknownCharger.objects.get()
    assert entry.attempts == 4
    assert entry.remote_address == "192.0.2.1"  # not overwritten by an attempt that did not say
    assert (entry.vendor, entry.model) == ("Acme", "M" * 50)


def test_unknown_charger_inbox_is_bounded(settings):
    settings.OCPP_UNKNOWN_CHARGER_INBOX_SIZE = 3
    for number in range(10):
        _attempt(f"CP-{number}")
    assert UnknownCharger.objects.count() == 3
    _attempt("CP-0")  # known ids are still counted
    assert UnknownCharger.objects.get(charge_point_id="CP-0").attempts == 2
    assert not UnknownCharger.objects.filter(charge_point_id="CP-5").exists()


def test_adopt_unknown_charger():
    _attempt("CP-NEW", boot=BootInfo(vendor="Acme", model="X", serial_number="S-9", firmware_version="1.0"))
    unknown = UnknownCharger.objects.get()
    site = SiteFactory()
    charger, key = adopt_unknown_charger(unknown=unknown, site=site, connector_count=2)
    assert (charger.charge_point_id, charger.site, charger.vendor, charger.serial_number) == (
        "CP-NEW",
        site,
        "Acme",
        "S-9",
    )
    assert charger.connectors.count() == 2
    assert verify_charger_key(key, charger.auth_key_hash)
    unknown.refresh_from_db()
    assert (unknown.state, unknown.adopted_charger) == (UnknownChargerState.ADOPTED, charger)
    assert charger_access("CP-NEW").id == charger.pk


def test_auto_register_charger_creates_it_pending_in_the_organizations_site():
    organization = OrganizationFactory(slug="fleet")
    first = auto_register_charger(charge_point_id="CP-A1", organization_slug="fleet")
    second = auto_register_charger(charge_point_id="CP-A2", organization_slug="fleet")
    assert first.registration_status == RegistrationStatus.PENDING
    assert first.security_profile == SecurityProfile.NONE
    assert first.site == second.site
    assert (first.site.organization, first.site.name) == (organization, "Auto-registered")
    assert first.connectors.count() == 1


# --- offline sweep ---------------------------------------------------------------------------


def test_sweep_offline_chargers_uses_each_chargers_heartbeat_interval(settings):
    settings.OCPP_OFFLINE_AFTER_HEARTBEATS = 3
    now = T0
    quiet_short = ChargerFactory(heartbeat_interval=60, is_online=True, last_seen_at=now - dt.timedelta(seconds=181))
    fresh_short = ChargerFactory(heartbeat_interval=60, is_online=True, last_seen_at=now - dt.timedelta(seconds=179))
    fresh_long = ChargerFactory(heartbeat_interval=600, is_online=True, last_seen_at=now - dt.timedelta(seconds=1000))
    quiet_long = ChargerFactory(heartbeat_interval=600, is_online=True, last_seen_at=now - dt.timedelta(seconds=1801))
    offline = ChargerFactory(heartbeat_interval=60, is_online=False, last_seen_at=now - dt.timedelta(days=1))

    assert sweep_offline_chargers(now=now) == 2
    online = set(Charger.objects.filter(is_online=True).values_list("pk", flat=True))
    assert online == {fresh_short.pk, fresh_long.pk}
    assert quiet_short.pk not in online
    assert quiet_long.pk not in online
    assert _reload(offline).is_online is False
    assert sweep_offline_chargers(now=now) == 0


def test_a_full_unknown_charger_inbox_warns_once_per_interval(settings, caplog):
    from sites.models import UnknownCharger
    from sites.services import _FullInboxWarning

    settings.OCPP_UNKNOWN_CHARGER_INBOX_SIZE = 1
    at = timezone.now()
    record_unknown_charger_attempt(charge_point_id="FIRST", remote_address="", subprotocols="", at=at)
    warning = _FullInboxWarning(interval=3600)
    with mock.patch("sites.services._full_inbox", warning), caplog.at_level(logging.WARNING, logger="sites.services"):
        for number in range(5):
            record_unknown_charger_attempt(
                charge_point_id=f"MADE-UP-{number}", remote_address="", subprotocols="", at=at
            )
        warning._last_warned -= 3600  # the interval has passed
        record_unknown_charger_attempt(charge_point_id="MADE-UP-5", remote_address="", subprotocols="", at=at)
    assert list(UnknownCharger.objects.values_list("charge_point_id", flat=True)) == ["FIRST"]
    warnings = [record.getMessage() for record in caplog.records if "inbox is full" in record.getMessage()]
    assert len(warnings) == 2
    assert "'MADE-UP-0' and 0 other" in warnings[0]
    assert "'MADE-UP-5' and 4 other" in warnings[1]
