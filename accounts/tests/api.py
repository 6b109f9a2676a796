"""API test clients: a person logged in, or an API client (a system) with its scopes, holding
a token from the client-credentials grant."""

from rest_framework.test import APIClient

from accounts.api_clients import create_api_client, issue_client_token


def authenticated(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def api_client_of(organization, scopes: list[str], name: str = "CMS") -> APIClient:
    """An API client of `organization` with `scopes`, as its token authenticates it."""
    client, secret = create_api_client(organization=organization, name=name, scopes=scopes, by=None)
    token = issue_client_token(client_id=client.client_id, client_secret=secret).access_token
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api
