"""The message log through the API (issue 20): the frames of the caller's chargers only,
newest first, filterable, walked with a cursor that does not shift while the log grows."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from ocpp_gateway.models import MessageLog
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _frame(charge_point_id: str, seconds: int, action: str = "Heartbeat", direction: str = "in") -> MessageLog:
    return MessageLog.objects.create(
        charge_point_id=charge_point_id, direction=direction, message_type=2, message_id=f"m{seconds}",
        action=action, payload={}, timestamp=T0 + dt.timedelta(seconds=seconds),
    )  # fmt: skip


@pytest.fixture
def api():
    own = ChargerFactory(charge_point_id="OWN-1")
    ChargerFactory(charge_point_id="FOREIGN-1")
    member = UserFactory()
    MembershipFactory(user=member, organization=own.site.organization, role="viewer")
    client = APIClient()
    client.force_authenticate(member)
    return client


def test_only_the_callers_chargers_frames_newest_first(api):
    for seconds in range(3):
        _frame("OWN-1", seconds)
    _frame("FOREIGN-1", 10)
    _frame("STRANGER", 11)  # an unknown charger's frames are the platform's
    rows = api.get("/api/v1/messages").json()["results"]
    assert [(row["charge_point_id"], row["message_id"]) for row in rows] == [
        ("OWN-1", "m2"), ("OWN-1", "m1"), ("OWN-1", "m0"),
    ]  # fmt: skip


def test_filters_by_charger_action_direction_and_time(api):
    _frame("OWN-1", 0, "BootNotification")
    _frame("OWN-1", 5, "Heartbeat")
    _frame("OWN-1", 6, "Reset", direction="out")

    def ids(**query) -> list[str]:
        answer = api.get("/api/v1/messages", query)
        assert answer.status_code == 200, answer.content
        return [row["message_id"] for row in answer.json()["results"]]

    assert ids(action="Heartbeat") == ["m5"]
    assert ids(direction="out") == ["m6"]
    assert ids(since="2026-03-01T08:00:05Z", until="2026-03-01T08:00:06Z") == ["m5"]
    assert ids(since="2026-03-01T09:00:05+01:00") == ["m6", "m5"]  # compared in UTC
    assert ids(charge_point_id="FOREIGN-1") == []
    assert api.get("/api/v1/messages", {"since": "yesterday"}).status_code == 400


def test_the_cursor_walks_every_frame_once_while_new_ones_arrive(api):
    for seconds in range(7):
        _frame("OWN-1", seconds)
    seen: list[str] = []
    url = "/api/v1/messages?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [row["message_id"] for row in page["results"]]
        if len(seen) == 3:
            _frame("OWN-1", 100)  # newer than the cursor: not in this walk
        url = page["next"]
    assert seen == [f"m{seconds}" for seconds in range(6, -1, -1)]


@pytest.mark.parametrize("size", ["0", "501", "ten"])
def test_a_page_size_out_of_bounds_is_refused(api, size):
    answer = api.get("/api/v1/messages", {"page_size": size})
    assert answer.status_code == 400
    assert "page_size" in answer.json()["errors"]


def test_one_chargers_conversation(api):
    _frame("OWN-1", 0)
    _frame("FOREIGN-1", 1)
    rows = api.get("/api/v1/chargers/OWN-1/messages").json()["results"]
    assert [row["charge_point_id"] for row in rows] == ["OWN-1"]
    assert api.get("/api/v1/chargers/FOREIGN-1/messages").status_code == 404
    assert api.get("/api/v1/chargers/NOBODY/messages").status_code == 404
