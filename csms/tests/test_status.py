"""GET /api/v1/status (issue 20): for platform administrators only; the chargers connected to
each server process, what waits in the queues, and the probes of /api/health."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from csms.status import server_process_of
from sites.models import Command
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_members_of_an_organization_are_refused():
    charger = ChargerFactory()
    operator = UserFactory()
    MembershipFactory(user=operator, organization=charger.site.organization, role="admin")
    answer = _client(operator).get("/api/v1/status")
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Platform administrators only."
    assert APIClient().get("/api/v1/status").status_code == 401


def test_chargers_per_process_and_version_queues_and_checks(settings):
    settings.CSMS_VERSION = "2026.12.1"
    for number, (process, version) in enumerate(
        [("specific.a1", "1.6"), ("specific.a1", "2.0.1"), ("specific.b2", "1.6")]
    ):
        ChargerFactory(
            charge_point_id=f"ON-{number}", is_online=True, channel_name=f"{process}!{number}", ocpp_version=version
        )
    offline = ChargerFactory(charge_point_id="OFF-1", is_online=False)
    Command.objects.create(charger=offline, action="Reset", expires_at=timezone.now())
    body = _client(UserFactory(is_superuser=True)).get("/api/v1/status").json()
    assert body["version"] == "2026.12.1"
    assert body["uptime_seconds"] >= 0
    assert body["chargers"] == {
        "connected": 3,
        "by_version": {"1.6": 2, "2.0.1": 1},
        "by_process": [{"process": "specific.a1", "connected": 2}, {"process": "specific.b2", "connected": 1}],
    }
    assert body["queues"]["commands_queued"] == 1
    assert body["queues"]["commands_sent_unanswered"] == 0
    assert body["queues"]["message_log_buffered_here"] >= 0
    # With a broker (CI's PostgreSQL + Redis run) its queue is counted; without, tasks run in-process.
    waiting = body["queues"]["celery_tasks_waiting"]
    assert waiting is None if settings.CELERY_TASK_ALWAYS_EAGER else isinstance(waiting, int)
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up", "channel_layer": "up", "broker": "up",
    }  # fmt: skip


def test_a_process_is_known_by_its_channel_prefix():
    assert server_process_of("specific.x7Kq!abcdef") == "specific.x7Kq"
    assert server_process_of("") == "unknown"
