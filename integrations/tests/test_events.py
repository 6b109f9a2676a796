"""Outbound events (issue 20): the facts the signals carry become version-neutral events with
the public ids of what they are about, in a fixed number of queries per batch; they reach a
Redis stream per organization, which a consumer group reads; Redis down keeps them for later."""

import datetime as dt
import json

import pytest
import redis

from charging.tests.factories import ChargingSessionFactory
from common.live_server import free_port
from common.tests.redis_server import needs_redis_server, redis_server
from integrations import publisher
from integrations.build import COMMAND, ONLINE, SESSION_ENDED, SESSION_STARTED, STATUS, build_events
from integrations.sinks import RedisStreamSink
from sites.signals import StatusChange
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
    ]
    events = build_events(facts)
    assert {event.type for event in events} == set(EVENT_TYPES)
    for event in events:
        body = EVENT_SERIALIZERS[event.type](data=event.as_json())
        assert body.is_valid(), (event.type, body.errors)


def test_the_event_types_are_listed_in_the_api(charger):
    from rest_framework.test import APIClient

    from accounts.tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="viewer")
    api = APIClient()
    api.force_authenticate(user)
    listed = api.get("/api/v1/event-types").json()
    assert {"type": "session.ended", "description": "A charging session ended"} in listed
