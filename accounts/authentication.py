"""The API's JWT authentication, for people and API clients (accounts.api_clients). A client's
token carries its client id: the client must still be active, and its principal then holds
only what the client's scopes allow (`api_scopes`, read by accounts.backends.RoleBackend). The
scopes come from the database, not the token, so narrowing a client takes effect at once."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts.api_clients import client_scopes


class ScopedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        client_id = validated_token.get("client_id")
        if client_id is None:
            return user
        scopes = client_scopes(client_id=client_id, principal_id=user.pk)
        if scopes is None:
            raise AuthenticationFailed("This API client has been revoked.", code="client_revoked")
        user.api_scopes = scopes
        return user


class ScopedJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema's bearer scheme for it: a JWT, as simplejwt's (people's and clients')."""

    target_class = "accounts.authentication.ScopedJWTAuthentication"
