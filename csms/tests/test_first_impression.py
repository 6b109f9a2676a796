"""A new operator's first steps (issue 19): "/" leads to the admin, a direct login lands on the
dashboard, the favicon exists."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_root_leads_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_direct_login_lands_on_the_dashboard(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    user.set_password("a-long-enough-password-1")
    user.save()
    response = client.post(reverse("admin:login"), {"username": user.email, "password": "a-long-enough-password-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("csms/favicon.svg")


@pytest.mark.parametrize("path", ["/api/v1/chargers/", "/api/v1/sessions/12/", "/api/v1/messages/"])
def test_an_api_path_with_a_trailing_slash_answers_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
