"""Outbound events (issue 20): the facts the signals carry become version-neutral events with
the public ids of what they are about, in a fixed number of queries per batch; they reach a
Redis stream per organization, which a consumer group reads; Redis down keeps them for later."""

import datetime as dt
import json

import pytest
import redis

from charging.signals import SessionReadings
from charging.tests.factories import ChargingSessionFactory
from common.live_server import free_port
from common.tests.redis_server import needs_redis_server, redis_server
from integrations import publisher
from integrations.build import (
    BOOTED,
    COMMAND,
    ONLINE,
    SECURITY,
    SESSION_ENDED,
    SESSION_PRICED,
    SESSION_STARTED,
    SESSION_UPDATED,
    STATUS,
    build_events,
)
from integrations.sinks import RedisStreamSink
from sites.signals import ChargerBoot, StatusChange
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def charger():
    return ChargerFactory(charge_point_id="EV-1")


def test_each_fact_becomes_an_event_of_its_organization(charger, django_assert_max_num_queries):
    connector = ConnectorFactory(charger=charger, connector_id=1)
    session = ChargingSessionFactory(connector=connector, id_tag="CARD-9", started_at=AT)
    change = StatusChange(charger.pk, 1, "Available", "Charging", "NoError", AT, evse_id=None)
    facts = [
        (ONLINE, charger.pk, True, AT),
        (STATUS, change),
        (SESSION_STARTED, session.pk, AT),
        (COMMAND, 5, charger.pk, "reset", "accepted", AT),
        (ONLINE, 999_999, False, AT),  # a charger deleted meanwhile: no event
    ]
    with django_assert_max_num_queries(2):
        events = build_events(facts)
    organization = charger.site.organization_id
    assert [(event.type, event.organization) for event in events] == [
        ("charger.connected", organization),
        ("connector.status_changed", organization),
        ("session.started", organization),
        ("command.settled", organization),
    ]
    as_json = [event.as_json() for event in events]
    assert as_json[1]["data"] == {
        "charge_point_id": "EV-1", "site_id": charger.site_id, "evse_id": None, "connector_id": 1, "status": "Charging",
        "previous_status": "Available", "error_code": "NoError",
    }  # fmt: skip
    assert as_json[2]["data"]["id_tag"] == "CARD-9"
    assert as_json[2]["occurred_at"] == "2026-03-01T08:00:00Z"
    assert len({event["id"] for event in as_json}) == 4  # each its own UUID


def test_a_command_alone_in_its_batch_is_an_event_of_its_charger(charger):
    """The command's charger is looked up by its own id (the fact's third item), not the command's."""
    events = build_events([(COMMAND, 987_654, charger.pk, "reset", "accepted", AT)])
    assert [(event.type, event.data["charge_point_id"]) for event in events] == [("command.settled", "EV-1")]


def test_a_session_that_ended_says_how_much_and_why(charger):
    session = ChargingSessionFactory(connector=ConnectorFactory(charger=charger), started_at=AT)
    type(session).objects.filter(pk=session.pk).update(
        state="completed", stopped_at=AT + dt.timedelta(hours=1), energy_wh=7_500, stop_reason="EVDisconnected"
    )
    [event] = build_events([(SESSION_ENDED, session.pk, AT)])
    assert event.type == "session.ended"
    assert event.occurred_at == AT + dt.timedelta(hours=1)
    assert {key: event.data[key] for key in ("energy_wh", "stop_reason", "stopped_at")} == {
        "energy_wh": 7_500, "stop_reason": "EVDisconnected", "stopped_at": "2026-03-01T09:00:00Z",
    }  # fmt: skip


@pytest.fixture
def stream(tmp_path):
    port = free_port()
    with redis_server(port, tmp_path):
        url = f"redis://127.0.0.1:{port}/0"
        sink = RedisStreamSink(url, prefix="test:events", maxlen=1000)
        publisher.configure(builder=build_events, sinks=[sink])
        try:
            yield sink, redis.Redis.from_url(url, decode_responses=True), port
        finally:
            publisher.configure(builder=build_events, sinks=[])


@needs_redis_server
def test_events_reach_a_stream_per_organization_read_by_a_consumer_group(charger, stream):
    sink, client, _ = stream
    other = ChargerFactory(charge_point_id="EV-OTHER")
    publisher.record((ONLINE, charger.pk, True, AT), (ONLINE, other.pk, True, AT), (ONLINE, charger.pk, False, AT))
    assert publisher.flush() == 3
    ours = sink.stream_of(charger.site.organization_id)
    client.xgroup_create(ours, "cms", id="0")
    [(_, entries)] = client.xreadgroup("cms", "worker-1", {ours: ">"})
    events = [json.loads(fields["event"]) for _, fields in entries]
    assert [(event["type"], event["data"]["charge_point_id"]) for event in events] == [
        ("charger.connected", "EV-1"), ("charger.disconnected", "EV-1"),
    ]  # fmt: skip
    client.xack(ours, "cms", *[entry_id for entry_id, _ in entries])
    assert client.xlen(sink.stream_of(other.site.organization_id)) == 1


@needs_redis_server
def test_redis_down_keeps_the_events_for_the_next_attempt(charger, tmp_path):
    port = free_port()
    sink = RedisStreamSink(f"redis://127.0.0.1:{port}/0", prefix="test:events", maxlen=1000)
    publisher.configure(builder=build_events, sinks=[sink])
    try:
        publisher.record((ONLINE, charger.pk, True, AT))
        assert publisher.flush() == 0  # nobody listens on that port yet
        assert publisher.buffered_count() == 1
        with redis_server(port, tmp_path):
            assert publisher.flush() == 1
            assert sink.client.xlen(sink.stream_of(charger.site.organization_id)) == 1
    finally:
        publisher.configure(builder=build_events, sinks=[])


def test_nothing_is_buffered_without_a_sink(charger):
    publisher.configure(builder=build_events, sinks=[])
    publisher.record((ONLINE, charger.pk, True, AT))
    assert publisher.buffered_count() == 0


def test_the_buffer_is_bounded_and_counts_what_it_drops(charger, settings):
    settings.INTEGRATIONS_MAX_BUFFER = 2
    published: list = []
    publisher.configure(builder=build_events, sinks=[published.extend])
    dropped = publisher.dropped_count()
    try:
        publisher.record(*((ONLINE, charger.pk, online, AT) for online in (True, False, True)))
        assert publisher.dropped_count() == dropped + 1
        assert publisher.flush() == 2
        assert [event.type for event in published] == ["charger.disconnected", "charger.connected"]
    finally:
        publisher.configure(builder=build_events, sinks=[])


def test_the_socket_filter_by_type_charger_and_site():
    from integrations.consumers import EventFilter

    event = {"type": "session.started", "data": {"charge_point_id": "EV-1", "site_id": 4}}
    assert EventFilter({}).admits(event)
    assert EventFilter({"types": ["session.started,session.ended"], "charger": ["EV-1"], "site": ["4"]}).admits(event)
    assert not EventFilter({"types": ["session.ended"]}).admits(event)
    assert not EventFilter({"charger": ["EV-2"]}).admits(event)
    assert not EventFilter({"site": ["5"]}).admits(event)
    with pytest.raises(ValueError, match=r"unknown event types: session\.exploded"):
        EventFilter({"types": ["session.exploded"]})
    with pytest.raises(ValueError, match="site: an id"):
        EventFilter({"site": ["four"]})


def test_facts_survive_the_trip_to_the_worker(charger):
    from integrations.build import decode_fact, encode_fact

    change = StatusChange(charger.pk, 2, "Available", "Faulted", "GroundFailure", AT, evse_id=1)
    facts = [(ONLINE, charger.pk, True, AT), (STATUS, change), (COMMAND, 5, charger.pk, "reset", "accepted", AT)]
    encoded = json.loads(json.dumps([encode_fact(fact) for fact in facts]))  # as Celery's JSON carries it
    assert [decode_fact(fact) for fact in encoded] == facts


def test_with_a_broker_the_batch_goes_to_a_worker_which_publishes_it(charger, settings):
    from integrations.tasks import deliver_events_task

    settings.CELERY_TASK_ALWAYS_EAGER = False
    handed: list = []
    published: list = []
    publisher.configure(builder=build_events, sinks=[published.extend], hand_off=handed.append)
    try:
        publisher.record((ONLINE, charger.pk, True, AT))
        assert publisher.flush() == 1
        assert published == []  # nothing built in the server process
        [batch] = handed
        assert deliver_events_task.apply(args=[json.loads(json.dumps(batch))]).get() == 1
        assert [event.type for event in published] == ["charger.connected"]
    finally:
        publisher.configure(builder=build_events, sinks=[])


def test_alerts_raised_and_resolved_become_events_and_survive_the_trip(charger):
    from common.signals import AlertFact
    from integrations.build import ALERT, decode_fact, encode_fact

    organization = charger.site.organization_id
    raised = AlertFact(7, organization, "charger_offline", "open", "EV-1 has been offline", charger.pk, AT)
    resolved = AlertFact(7, organization, "charger_offline", "resolved", "EV-1 has been offline", charger.pk, AT,
                         resolution="The charger is back online.")  # fmt: skip
    elsewhere = AlertFact(8, organization, "security_event", "open", "no charger", None, AT)
    facts = [(ALERT, raised), (ALERT, resolved), (ALERT, elsewhere)]
    assert [decode_fact(fact) for fact in json.loads(json.dumps([encode_fact(f) for f in facts]))] == facts
    events = [event.as_json() for event in build_events(facts)]
    assert [event["type"] for event in events] == ["alert.raised", "alert.resolved", "alert.raised"]
    assert events[0]["data"] == {
        "alert_id": 7, "kind": "charger_offline", "summary": "EV-1 has been offline", "charge_point_id": "EV-1",
        "site_id": charger.site_id,
    }  # fmt: skip
    assert events[1]["data"]["resolution"] == "The charger is back online."
    assert events[2]["data"]["charge_point_id"] is None


def test_every_event_type_has_its_openapi_component_and_built_events_fit_it(charger):
    from common.signals import AlertFact
    from integrations.build import ALERT
    from integrations.event_schema import EVENT_SERIALIZERS
    from integrations.events import EVENT_TYPES

    assert set(EVENT_SERIALIZERS) == set(EVENT_TYPES)
    connector = ConnectorFactory(charger=charger, connector_id=1)
    session = ChargingSessionFactory(connector=connector, id_tag="CARD-9", started_at=AT)
    organization = charger.site.organization_id
    facts = [
        (ONLINE, charger.pk, True, AT),
        (ONLINE, charger.pk, False, AT),
        (STATUS, StatusChange(charger.pk, 1, "Available", "Charging", "NoError", AT, evse_id=None)),
        (SESSION_STARTED, session.pk, AT),
        (SESSION_ENDED, session.pk, AT),
        (COMMAND, 5, charger.pk, "reset", "accepted", AT),
        (ALERT, AlertFact(1, organization, "charger_fault", "open", "faulted", charger.pk, AT)),
        (ALERT, AlertFact(1, organization, "charger_fault", "resolved", "faulted", None, AT, resolution="ok")),
        *_new_kinds_of_facts(charger, session),
    ]
    events = build_events(facts)
    assert {event.type for event in events} == set(EVENT_TYPES)
    for event in events:
        body = EVENT_SERIALIZERS[event.type](data=event.as_json())
        assert body.is_valid(), (event.type, body.errors)


def _new_kinds_of_facts(charger, session) -> list[tuple]:
    """A boot, a running session's readings, a price and a security event, as their signals
    record them."""
    from billing.models import SessionCost, Tariff
    from sites.security_events import record_security_event

    tariff = Tariff.objects.create(organization=charger.site.organization, name="Day", price_per_kwh="0.30")
    SessionCost.objects.create(session=session, tariff=tariff, currency="EUR", net="0.75", vat="0.15", total="0.90")
    security_event = record_security_event(
        charge_point_id=charger.charge_point_id, charger_id=charger.pk, kind="ChargerKeyRotated", detail={}
    )
    return [
        (BOOTED, ChargerBoot(charger.pk, "Accepted", "PowerUp", "1.2.3", AT)),
        (SESSION_UPDATED, SessionReadings(session.pk, 2_500, 7200.5, AT)),
        (SESSION_PRICED, session.pk, AT),
        (SECURITY, security_event.pk, AT),
    ]


def test_a_boot_a_running_session_a_price_and_a_security_event_become_events(charger, django_assert_max_num_queries):
    session = ChargingSessionFactory(connector=ConnectorFactory(charger=charger, connector_id=1), started_at=AT)
    facts = _new_kinds_of_facts(charger, session)
    facts.append((SECURITY, 999_999, AT))  # deleted meanwhile: no event
    with django_assert_max_num_queries(4):  # chargers, sessions, prices, security events
        events = {event.type: event.as_json() for event in build_events(facts)}
    assert list(events) == ["charger.booted", "session.updated", "session.priced", "security_event.recorded"]
    site = {"charge_point_id": "EV-1", "site_id": charger.site_id}
    assert events["charger.booted"]["data"] == {
        **site, "registration_status": "Accepted", "reason": "PowerUp", "firmware_version": "1.2.3"
    }  # fmt: skip
    updated = events["session.updated"]["data"]
    assert (updated["session_id"], updated["energy_wh"], updated["power_w"]) == (session.pk, 2_500, 7200.5)
    assert events["session.priced"]["data"] == {
        **site, "session_id": session.pk, "currency": "EUR", "net": "0.75", "vat": "0.15", "total": "0.90",
        "tariff_id": events["session.priced"]["data"]["tariff_id"], "tariff": "Day",
    }  # fmt: skip
    security = events["security_event.recorded"]["data"]
    assert (security["kind"], security["source"], security["critical"]) == ("ChargerKeyRotated", "csms", False)
    assert {event["organization"] for event in events.values()} == {charger.site.organization_id}


def test_a_security_event_about_no_known_charger_goes_nowhere(charger):
    from sites.security_events import record_security_event

    stranger = record_security_event(charge_point_id="WHO-IS-THIS", kind="FailedLogin", detail={})
    assert build_events([(SECURITY, stranger.pk, AT)]) == []


def test_a_boot_and_readings_survive_the_trip_to_the_worker(charger):
    from integrations.build import decode_fact, encode_fact

    facts = [
        (BOOTED, ChargerBoot(charger.pk, "Pending", "", "fw-9", AT)),
        (SESSION_UPDATED, SessionReadings(1, 9, None, AT)),
    ]
    assert [decode_fact(json.loads(json.dumps(encode_fact(fact)))) for fact in facts] == facts


def test_the_services_signals_become_events_once_committed(charger, django_capture_on_commit_callbacks):
    """A boot, readings (through the throttle: once per session per period), a price and a
    security event, each sent by its service on commit, reach the sinks."""
    from billing.models import Tariff, TariffAssignment
    from billing.services import compute_session_cost
    from charging.services.meter_values import announce_metered
    from sites.security_events import record_security_event
    from sites.services import BootIn, BootInfo, record_boots

    connector = ConnectorFactory(charger=charger, connector_id=1)
    running = ChargingSessionFactory(connector=connector, started_at=AT)
    ended = ChargingSessionFactory(connector=ConnectorFactory(charger=charger, connector_id=2), started_at=AT)
    type(ended).objects.filter(pk=ended.pk).update(
        state="completed", stopped_at=AT + dt.timedelta(hours=1), energy_wh=10_000
    )
    tariff = Tariff.objects.create(organization=charger.site.organization, name="Flat", price_per_kwh="0.40")
    TariffAssignment.objects.create(
        tariff=tariff, organization=charger.site.organization, valid_from=AT - dt.timedelta(days=1)
    )
    published: list = []
    publisher.configure(builder=build_events, sinks=[published.extend])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record_boots([BootIn(charger.pk, BootInfo(vendor="ACME", model="X1", firmware_version="7"), AT)])
        with django_capture_on_commit_callbacks(execute=True):
            announce_metered([running], AT)
        with django_capture_on_commit_callbacks(execute=True):
            announce_metered([running, ended], AT)  # `running` again within the period: not due
        with django_capture_on_commit_callbacks(execute=True):
            compute_session_cost(session_id=ended.pk)
        with django_capture_on_commit_callbacks(execute=True):
            record_security_event(charge_point_id="EV-1", charger_id=charger.pk, kind="ChargerKeyRotated", detail={})
        publisher.flush()
    finally:
        publisher.configure(builder=build_events, sinks=[])
    assert [(event.type, event.data.get("session_id")) for event in published] == [
        ("charger.connected", None),  # it was offline: booting brought it online
        ("charger.booted", None), ("session.updated", running.pk), ("session.updated", ended.pk),
        ("session.priced", ended.pk), ("security_event.recorded", None),
    ]  # fmt: skip
    assert published[1].data["firmware_version"] == "7"
    assert published[4].data["total"] == "4.00"


def test_the_update_throttle_lets_a_session_through_once_per_period(settings):
    from integrations.receivers import UpdateThrottle

    settings.INTEGRATIONS_SESSION_UPDATE_SECONDS = 0
    throttle = UpdateThrottle()
    assert throttle.due([1, 2]) == [1, 2]
    assert throttle.due([1]) == [1]  # a period of 0: every time
    settings.INTEGRATIONS_SESSION_UPDATE_SECONDS = 3600
    assert throttle.due([1, 3]) == [3]
    throttle.forget([1])  # ended: a new session with its id (never) or a restart passes again
    assert throttle.due([1]) == [1]


def test_the_event_types_are_listed_in_the_api(charger):
    from rest_framework.test import APIClient

    from accounts.tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="viewer")
    api = APIClient()
    api.force_authenticate(user)
    listed = api.get("/api/v1/event-types").json()
    assert {"type": "session.ended", "description": "A charging session ended"} in listed
