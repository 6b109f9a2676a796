"""People and organizations belong to no site: their times in the admin are in UTC, saying so."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_organizations_and_users_show_their_times_in_utc(admin_client, admin_user):
    organization = OrganizationFactory(name="Alpha Charging")
    Organization.objects.filter(pk=organization.pk).update(
        created_at=dt.datetime(2026, 12, 5, 13, 4, 59, tzinfo=dt.UTC)
    )
    User.objects.filter(pk=admin_user.pk).update(last_login=dt.datetime(2026, 12, 5, 8, 30, tzinfo=dt.UTC))
    organizations = admin_client.get(reverse("admin:accounts_organization_changelist")).content.decode()
    assert "5 Dec 2026, 13:04 UTC" in organizations
    users = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "5 Dec 2026, 08:30 UTC" in users
