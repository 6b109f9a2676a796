"""Command batches (issue 20): one intent to many chargers, queued a chunk at a time, with its
progress; from the API and the charger list; refused where it does not suit a charger."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from sites.commands.batches import Selection, batch_progress, queue_next_chunk, request_batch
from sites.commands.intents import GetTransactionStatus, Reset
from sites.models import Charger, Command, CommandBatch, CommandStatus
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


@pytest.fixture
def fleet(org):
    harbour, depot = SiteFactory(organization=org, name="Harbour"), SiteFactory(organization=org, name="Depot")
    chargers = [ChargerFactory(site=harbour, charge_point_id=f"H-{n}") for n in range(5)]
    chargers += [ChargerFactory(site=depot, charge_point_id=f"D-{n}") for n in range(3)]
    Charger.objects.filter(charge_point_id__in=["H-0", "H-1"]).update(is_online=True)
    return harbour, depot, chargers


def person(org, role="operator"):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=org, role=role)
    return user


def test_a_batch_queues_one_command_per_charger_a_chunk_at_a_time(
    org, fleet, settings, django_capture_on_commit_callbacks
):
    settings.COMMAND_BATCH_CHUNK = 2
    harbour, _, _ = fleet
    operator = person(org)
    with django_capture_on_commit_callbacks(execute=False):
        batch = request_batch(
            organization=org, intent=Reset(hard=False), selection=Selection(site_ids=(harbour.pk,)),
            requested_by=operator, via="api",
        )  # fmt: skip
    assert batch.total == 5
    assert queue_next_chunk(batch.pk) is True
    assert Command.objects.filter(batch=batch).count() == 2
    assert queue_next_chunk(batch.pk) is True
    assert queue_next_chunk(batch.pk) is False
    batch.refresh_from_db()
    assert batch.state == CommandBatch.State.DONE
    assert batch.queued_count == 5
    assert queue_next_chunk(batch.pk) is False  # done: a chunk that runs again queues nothing
    assert Command.objects.filter(batch=batch, intent="reset").count() == 5
    assert Activity.objects.filter(verb="sent command batch").count() == 1


def test_progress_counts_outcomes_and_chargers_waiting_offline(org, fleet, django_capture_on_commit_callbacks):
    operator = person(org)
    with django_capture_on_commit_callbacks(execute=True):
        batch = request_batch(organization=org, intent=Reset(), selection=Selection(), requested_by=operator, via="api")
    batch.refresh_from_db()
    assert batch.state == CommandBatch.State.DONE  # eager: every chunk at once
    commands = Command.objects.filter(batch=batch).order_by("pk")
    Command.objects.filter(pk=commands[0].pk).update(status=CommandStatus.ACCEPTED)
    Command.objects.filter(pk=commands[1].pk).update(status=CommandStatus.REJECTED)
    progress = batch_progress(batch)
    assert (progress.total, progress.accepted, progress.rejected) == (8, 1, 1)
    assert progress.waiting_offline == 6  # the other six chargers are offline
    assert progress.not_yet_queued == 0


def test_an_intent_a_charger_cannot_carry_is_recorded_as_not_suited(org, fleet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = request_batch(
            organization=org, intent=GetTransactionStatus(), selection=Selection(charge_point_ids=("H-0", "H-1")),
            requested_by=person(org), via="api",
        )  # fmt: skip
    batch.refresh_from_db()
    assert {entry["charge_point_id"] for entry in batch.refused} == {"H-0", "H-1"}  # 1.6 chargers
    assert batch.refused[0]["reason"]  # the port's own words, e.g. what the version cannot carry
    assert batch_progress(batch).refused == 2


def test_online_only_and_empty_selections(org, fleet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = request_batch(
            organization=org, intent=Reset(), selection=Selection(online_only=True), requested_by=person(org), via="api"
        )
    assert sorted(Command.objects.filter(batch=batch).values_list("charger__charge_point_id", flat=True)) == [
        "H-0", "H-1",
    ]  # fmt: skip
    with pytest.raises(ValidationError):
        request_batch(
            organization=org, intent=Reset(), selection=Selection(charge_point_ids=("NOPE",)),
            requested_by=person(org), via="api",
        )  # fmt: skip


def test_a_viewer_may_not_send_a_batch(org, fleet):
    with pytest.raises(PermissionDenied):
        request_batch(
            organization=org, intent=Reset(), selection=Selection(), requested_by=person(org, "viewer"), via="api"
        )
    assert not CommandBatch.objects.exists()


def test_the_api_sends_a_batch_and_reports_its_progress(org, fleet, django_capture_on_commit_callbacks):
    api = APIClient()
    api.force_authenticate(person(org))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            "/api/v1/command-batches",
            {"chargers": {"charge_point_ids": ["D-0", "D-1"]}, "command": {"intent": "reset", "hard": True}},
            format="json",
        )
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["intent"] == "reset"
    assert body["fields"]["hard"] is True
    assert body["progress"]["total"] == 2
    now = api.get(f"/api/v1/command-batches/{body['id']}").json()
    assert now["state"] == "done"
    assert now["progress"]["waiting_offline"] == 2
    raw = api.post(
        "/api/v1/command-batches",
        {"chargers": {}, "command": {"action": "Reset", "payload": {"type": "Soft"}}},
        format="json",
    )
    assert raw.status_code == 400
    unknown = api.post("/api/v1/command-batches", {"chargers": {}, "command": {"intent": "teleport"}}, format="json")
    assert unknown.status_code == 400


def test_another_organizations_batches_are_not_visible(org, fleet):
    batch = request_batch(organization=org, intent=Reset(), selection=Selection(), requested_by=person(org), via="api")
    other = OrganizationFactory(slug="other")
    api = APIClient()
    api.force_authenticate(person(other))
    assert api.get(f"/api/v1/command-batches/{batch.pk}").status_code == 404
    refused = api.post(
        "/api/v1/command-batches",
        {"organization": org.pk, "chargers": {}, "command": {"intent": "reset"}},
        format="json",
    )
    assert refused.status_code == 400


def test_the_charger_list_sends_a_batch_to_the_selected_chargers(client, org, fleet):
    _, _, chargers = fleet
    client.force_login(person(org))
    selected = [charger.pk for charger in chargers[:3]]
    url = reverse("admin:sites_charger_changelist")
    chooser = client.post(url, {"action": "send_batch", "_selected_action": selected})
    assert chooser.status_code == 200
    assert "Send a command to 3 chargers" in chooser.content.decode()
    form = client.post(url, {"action": "send_batch", "_selected_action": selected, "batch_intent": "reset"})
    assert "Send to 3 chargers: Reset" in form.content.decode()
    done = client.post(
        url, {"action": "send_batch", "_selected_action": selected, "batch_intent": "reset", "confirm": "yes",
              "hard": "soft"},
    )  # fmt: skip
    batch = CommandBatch.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:sites_commandbatch_change", args=[batch.pk])
    assert batch.total == 3
    page = client.get(done["Location"]).content.decode()
    assert "Waiting for offline chargers" in page
