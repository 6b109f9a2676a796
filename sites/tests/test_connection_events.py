"""Online/offline events: one row per real change of a charger's online state (issue 6)."""

import datetime as dt
import uuid

import pytest

from sites.models import ConnectionEvent
from sites.services import (
    BootInfo,
    Liveness,
    mark_connected,
    mark_disconnected,
    record_boot,
    record_liveness,
    sweep_offline_chargers,
)
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def _events(charger) -> list[tuple[str, dt.datetime, str]]:
    return list(
        ConnectionEvent.objects.filter(charger=charger).order_by("at", "id").values_list("kind", "at", "reason")
    )


def test_connect_and_disconnect_write_one_event_each():
    charger = ChargerFactory()
    socket = uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=socket, channel_name="chan", at=T0)
    record_liveness([Liveness(charger.pk, socket, T0 + dt.timedelta(minutes=1), heartbeat=True)])
    record_liveness([Liveness(charger.pk, socket, T0 + dt.timedelta(minutes=2))])
    mark_disconnected(charger_id=charger.pk, connection_id=socket, at=T0 + dt.timedelta(hours=1), reason="ping timeout")
    assert _events(charger) == [
        ("online", T0, "connected"),
        ("offline", T0 + dt.timedelta(hours=1), "ping timeout"),
    ]


def test_a_replacing_socket_and_the_old_sockets_disconnect_write_nothing():
    charger = ChargerFactory()
    old, new = uuid.uuid4(), uuid.uuid4()
    mark_connected(charger_id=charger.pk, connection_id=old, channel_name="old", at=T0)
    mark_connected(charger_id=charger.pk, connection_id=new, channel_name="new", at=T0 + dt.timedelta(seconds=5))
    mark_disconnected(charger_id=charger.pk, connection_id=old, at=T0 + dt.timedelta(seconds=6))
    assert _events(charger) == [("online", T0, "connected")]


def test_the_sweep_dates_the_offline_event_when_the_charger_was_last_heard(settings):
    settings.OCPP_OFFLINE_AFTER_HEARTBEATS = 2
    last_heard = T0 - dt.timedelta(seconds=700)
    quiet = ChargerFactory(heartbeat_interval=300, is_online=True, last_seen_at=last_heard)
    fresh = ChargerFactory(heartbeat_interval=300, is_online=True, last_seen_at=T0 - dt.timedelta(seconds=10))
    assert sweep_offline_chargers(now=T0) == 1
    assert _events(quiet) == [("offline", last_heard, "offline sweep")]
    assert _events(fresh) == []
    assert sweep_offline_chargers(now=T0) == 0
    assert ConnectionEvent.objects.count() == 1


def test_a_swept_charger_that_speaks_again_comes_back_online_once():
    socket = uuid.uuid4()
    charger = ChargerFactory(is_online=False, connection_id=socket, last_seen_at=T0)
    # Two heartbeats in one batch, then one more: one "seen again" event.
    record_liveness(
        [
            Liveness(charger.pk, socket, T0 + dt.timedelta(minutes=1), heartbeat=True),
            Liveness(charger.pk, socket, T0 + dt.timedelta(minutes=1, seconds=30), heartbeat=True),
        ]
    )
    record_liveness([Liveness(charger.pk, socket, T0 + dt.timedelta(minutes=2), heartbeat=True)])
    # Its socket closes afterwards: that is a real change again.
    mark_disconnected(charger_id=charger.pk, connection_id=socket, at=T0 + dt.timedelta(minutes=3))
    assert _events(charger) == [
        ("online", T0 + dt.timedelta(minutes=1), "seen again"),
        ("offline", T0 + dt.timedelta(minutes=3), "disconnected"),
    ]
    charger.refresh_from_db()
    assert charger.last_heartbeat_at == T0 + dt.timedelta(minutes=2)


def test_disconnect_of_an_already_swept_charger_writes_no_second_offline_event():
    socket = uuid.uuid4()
    charger = ChargerFactory(is_online=False, connection_id=socket, last_seen_at=T0)
    assert mark_disconnected(charger_id=charger.pk, connection_id=socket, at=T0) is True
    assert _events(charger) == []


def test_boot_of_an_offline_charger_brings_it_online():
    charger = ChargerFactory(is_online=False)
    record_boot(charger_id=charger.pk, info=BootInfo(vendor="V", model="M"), received_at=T0)
    record_boot(charger_id=charger.pk, info=BootInfo(vendor="V", model="M"), received_at=T0 + dt.timedelta(1))
    assert _events(charger) == [("online", T0, "seen again")]
