"""API clients (issue 20): client credentials give a JWT whose holder acts in its organization
with the permissions of its scopes only; revoking stops it at once; the admin shows the secret
once; the audit trail names who created and revoked it."""

import base64

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.api_clients import InvalidClient, create_api_client, issue_client_token, revoke_api_client
from accounts.models import Activity, ApiClient
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import IdToken
from charging.tests.factories import IdTokenFactory
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/client-token"


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


@pytest.fixture
def admin_user(org):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=org, role="admin")
    return user


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def token_for(client_id: str, secret: str) -> str:
    answer = APIClient().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    return answer.json()["access_token"]


def test_a_client_with_the_read_scope_reads_its_organization_only(org, admin_user):
    ChargerFactory(site=SiteFactory(organization=org), charge_point_id="A-1")
    ChargerFactory(site=SiteFactory(organization=OrganizationFactory(slug="beta")), charge_point_id="B-1")
    client, secret = create_api_client(organization=org, name="CMS", scopes=["read"], by=admin_user)
    api = bearer(token_for(client.client_id, secret))
    chargers = api.get("/api/v1/chargers").json()["results"]
    assert [charger["charge_point_id"] for charger in chargers] == ["A-1"]


def test_scopes_bound_what_the_client_may_write(org, admin_user):
    reader, reader_secret = create_api_client(organization=org, name="Reader", scopes=["read"], by=admin_user)
    cards, cards_secret = create_api_client(organization=org, name="Cards", scopes=["read", "tokens"], by=admin_user)
    body = {"organization": org.pk, "id_tag": "NEW-CARD", "status": "Accepted"}
    refused = bearer(token_for(reader.client_id, reader_secret)).post("/api/v1/id-tokens", body, format="json")
    assert refused.status_code == 403
    created = bearer(token_for(cards.client_id, cards_secret)).post("/api/v1/id-tokens", body, format="json")
    assert created.status_code == 201, created.content
    assert IdToken.objects.filter(id_tag="NEW-CARD").count() == 1


def test_basic_credentials_work_and_wrong_ones_get_one_answer(org, admin_user):
    client, secret = create_api_client(organization=org, name="CMS", scopes=["read"], by=admin_user)
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    answer = APIClient().post(TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"
    assert answer.json()["scope"] == "read"
    wrong = APIClient().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "nope"}
    )
    unknown = APIClient().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": "cli_nobody", "client_secret": secret}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert APIClient().post(TOKEN_URL, {"grant_type": "password"}).status_code == 400


def test_revoking_stops_the_tokens_already_issued(org, admin_user):
    client, secret = create_api_client(organization=org, name="CMS", scopes=["read"], by=admin_user)
    api = bearer(token_for(client.client_id, secret))
    assert api.get("/api/v1/chargers").status_code == 200
    assert revoke_api_client(client, by=admin_user) is True
    assert api.get("/api/v1/chargers").status_code == 401
    with pytest.raises(InvalidClient):
        issue_client_token(client_id=client.client_id, client_secret=secret)
    assert list(Activity.objects.filter(object_type="accounts.apiclient").values_list("verb", "actor")) == [
        ("revoked", admin_user.pk),
        ("created", admin_user.pk),
    ]


def test_the_principal_cannot_log_in_anywhere(org, admin_user):
    client, secret = create_api_client(organization=org, name="CMS", scopes=["read"], by=admin_user)
    principal = client.principal
    assert not principal.has_usable_password()
    assert not principal.is_staff
    login = APIClient().post("/api/v1/auth/token", {"email": principal.email, "password": secret})
    assert login.status_code == 401


def test_a_client_never_holds_the_raw_call(org, admin_user):
    client, _ = create_api_client(organization=org, name="CMS", scopes=["read", "commands"], by=admin_user)
    principal = client.principal
    principal.api_scopes = frozenset(client.scopes)
    charger = ChargerFactory(site=SiteFactory(organization=org))
    assert principal.has_perm("sites.send_unlock", charger)
    assert not principal.has_perm("sites.send_raw", charger)
    assert not principal.has_perm("charging.add_idtoken", IdTokenFactory(organization=org))


def test_an_organization_admin_creates_a_client_in_the_admin_and_sees_the_secret_once(client, org, admin_user):
    client.force_login(admin_user)
    answer = client.post(
        reverse("admin:accounts_apiclient_add"),
        {"organization": org.pk, "name": "Billing system", "scopes": ["read", "tariffs"]},
        follow=True,
    )
    created = ApiClient.objects.get()
    shown = " ".join(str(message) for message in answer.context["messages"])
    assert created.client_id in shown
    secret = shown.split("secret: ")[1].split(" ")[0]
    assert issue_client_token(client_id=created.client_id, client_secret=secret).scopes == ("read", "tariffs")
    assert secret not in client.get(reverse("admin:accounts_apiclient_change", args=[created.pk])).content.decode()


def test_an_operator_may_not_create_clients(client, org):
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=org, role="operator")
    client.force_login(operator)
    assert client.get(reverse("admin:accounts_apiclient_add")).status_code == 403
