"""The admin's sidebar (issue 19): ordered for operators, every link leads somewhere that
answers, and people and framework tables only for platform administrators."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sidebar_links(client) -> list[str]:
    html = client.get(reverse("admin:index")).content.decode()
    links = re.findall(r'href="(/admin/[^"#?]*)"', html)
    return list(dict.fromkeys(link for link in links if not link.startswith("/admin/logout")))


def _operator(client):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=OrganizationFactory(), role="operator")
    client.force_login(user)
    return user


def test_operators_see_the_fleet_first_and_no_framework_tables(client):
    _operator(client)
    links = _sidebar_links(client)
    chargers, sessions = reverse("admin:sites_charger_changelist"), reverse("admin:charging_chargingsession_changelist")
    assert chargers in links
    assert sessions in links
    assert links.index(chargers) < links.index(sessions) < links.index(reverse("admin:billing_tariff_changelist"))
    for hidden in ("accounts_user", "auth_group", "axes_accessattempt", "token_blacklist_outstandingtoken"):
        assert reverse(f"admin:{hidden}_changelist") not in links


@pytest.mark.parametrize("who", ["operator", "superuser"])
def test_every_sidebar_link_answers(client, who):
    if who == "operator":
        _operator(client)
    else:
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    links = _sidebar_links(client)
    assert len(links) > 10
    for link in links:
        response = client.get(link, follow=True)
        assert response.status_code == 200, (link, response.status_code)
    if who == "superuser":
        assert reverse("admin:accounts_user_changelist") in links
