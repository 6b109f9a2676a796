"""The audit trail: who did what and when, with the values before and after."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from charging.tests.factories import IdTokenFactory
from sites.commands import request_command, rotate_charger_key
from sites.commands.intents import Reset
from sites.models import Site
from sites.services import BootInfo, record_boot
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_an_admin_change_is_recorded_with_before_and_after(admin_client, admin_user):
    site = SiteFactory(name="Old name", timezone="Europe/Berlin")
    response = admin_client.post(
        reverse("admin:sites_site_change", args=[site.pk]),
        {"organization": site.organization_id, "name": "New name", "timezone": "Europe/Paris",
         "chargers-TOTAL_FORMS": "0", "chargers-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = Activity.objects.get(object_type="sites.site")
    assert (activity.actor, activity.verb, activity.via, activity.organization_id) == (
        admin_user,
        "changed",
        "admin",
        site.organization_id,
    )
    assert activity.changes["name"] == ["Old name", "New name"]
    assert activity.changes["timezone"] == ["Europe/Berlin", "Europe/Paris"]
    latest = Site.history.filter(id=site.pk).latest("history_date")
    assert (latest.history_user, latest.name) == (admin_user, "New name")
    history = admin_client.get(reverse("admin:sites_site_history", args=[site.pk]))
    assert history.status_code == 200


def test_api_writes_are_recorded():
    token = IdTokenFactory(holder_name="Before")
    operator = UserFactory()
    MembershipFactory(user=operator, organization=token.organization, role="operator")
    client = APIClient()
    client.force_authenticate(operator)
    client.patch(f"/api/v1/id-tokens/{token.pk}", {"holder_name": "After"}, format="json")
    client.delete(f"/api/v1/id-tokens/{token.pk}")
    activities = list(Activity.objects.order_by("id").values_list("verb", "via", "actor_id"))
    assert activities == [("changed", "api", operator.pk), ("deleted", "api", operator.pk)]
    assert Activity.objects.order_by("id").first().changes == {"holder_name": ["Before", "After"]}


def test_commands_are_recorded_without_secrets():
    charger = ChargerFactory()
    user = UserFactory()
    request_command(charger=charger, intent=Reset(hard=True), requested_by=user, via="api")
    command = rotate_charger_key(charger=charger, requested_by=user)
    entries = Activity.objects.filter(verb="sent command").order_by("id")
    assert [entry.changes["intent"] for entry in entries] == ["reset", "rotate_key"]
    assert entries[0].actor == user
    assert entries[0].changes["fields"] == {"hard": True, "evse": None}
    assert entries[1].changes["fields"] == {}  # the key is sealed on the command, never in its fields
    assert command.sealed_secret not in str(list(Activity.objects.values_list("changes", flat=True)))


def test_what_chargers_report_does_not_fill_the_history():
    charger = ChargerFactory()
    before = charger.history.count()
    record_boot(charger_id=charger.pk, info=BootInfo(vendor="V2", model="M2"), received_at=timezone.now())
    assert charger.history.count() == before


def test_charger_history_keeps_no_secret():
    charger = ChargerFactory(auth_key_hash="sha256$salt$secret")
    charger.vendor = "Changed"
    charger.save()
    assert not hasattr(charger.history.latest("history_date"), "auth_key_hash")


def test_another_tenants_history_is_refused(client):
    mine, theirs = SiteFactory(), SiteFactory()
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=mine.organization, role="operator")
    client.force_login(operator)
    assert client.get(reverse("admin:sites_site_history", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:sites_site_history", args=[theirs.pk])).status_code in (403, 404)


def test_an_organization_admin_adds_a_member_by_email(client):
    from accounts.models import Membership, User

    site = SiteFactory()
    organization = site.organization
    boss = UserFactory(is_staff=True)
    MembershipFactory(user=boss, organization=organization, role="admin")
    client.force_login(boss)
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"email": "New.Tech@Example.com", "organization": organization.pk, "role": "maintenance"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    newcomer = User.objects.get(email="new.tech@example.com")
    assert newcomer.is_staff
    assert not newcomer.has_usable_password()
    assert Membership.objects.get(user=newcomer).role == "maintenance"
    again = client.post(
        reverse("admin:accounts_membership_add"),
        {"email": "new.tech@example.com", "organization": organization.pk, "role": "viewer"},
    )
    assert again.context["adminform"].form.errors["email"]


def test_an_operator_cannot_manage_members(client):
    site = SiteFactory()
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=site.organization, role="operator")
    client.force_login(operator)
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"email": "x@example.com", "organization": site.organization.pk, "role": "admin"},
    )
    assert response.status_code == 403


def test_the_activity_log_says_its_times_to_the_second_in_utc(admin_client):
    import datetime as dt

    at = dt.datetime(2026, 12, 5, 13, 3, 7, 900000, tzinfo=dt.UTC)
    entry = Activity.objects.create(verb="changed", via="admin", object_type="site", object_repr="Depot", timestamp=at)
    pages = [reverse("admin:accounts_activity_changelist"), reverse("admin:accounts_activity_change", args=[entry.pk])]
    for url in pages:
        body = admin_client.get(url).content.decode()
        assert "5 Dec 2026, 13:03:07 UTC" in body
        assert "2026-12-05T13:03:07" not in body
