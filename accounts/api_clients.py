"""API clients (issue 20): systems that call the API on their own, with the OAuth 2 client
credentials grant (RFC 6749 sec. 4.4). Created and revoked by organization admins; the secret
is shown once and kept only as a password hash. A client's access token is a JWT like a
person's, naming the client's principal (a user without password or admin access, member of
the organization with the API client role), its client id and its scopes; the authentication
(accounts.authentication) refuses it once the client is revoked."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import ApiClient, ApiScope, Membership, Organization, User
from accounts.roles import API_CLIENT_ROLE
from accounts.services import record_activity

PRINCIPAL_DOMAIN = "api-clients.invalid"  # RFC 2606: never a real mailbox
# Checked against when the client id is unknown, so the answer takes as long either way.
_DUMMY_HASH = make_password(None)


class InvalidClient(Exception):
    """Unknown client id, wrong secret or revoked client: one answer for all (no oracle)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: tuple[str, ...]


def token_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=settings.API_CLIENT_TOKEN_MINUTES)


@transaction.atomic
def create_api_client(
    *, organization: Organization, name: str, scopes: list[str], by, via: str = "admin"
) -> tuple[ApiClient, str]:
    """A new client and its secret (to be shown once). Unknown scopes are refused."""
    unknown = set(scopes) - set(ApiScope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    client_id = f"cli_{secrets.token_urlsafe(12)}"
    secret = secrets.token_urlsafe(32)
    principal = User.objects.create_user(
        email=f"{client_id.lower()}@{PRINCIPAL_DOMAIN}", password=None, full_name=f"API client: {name}"
    )
    Membership.objects.create(user=principal, organization=organization, role=API_CLIENT_ROLE)
    client = ApiClient.objects.create(
        organization=organization,
        name=name,
        client_id=client_id,
        secret_hash=make_password(secret),
        scopes=sorted(set(scopes)),
        principal=principal,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    record_activity(actor=by, verb="created", obj=client, via=via, changes={"scopes": client.scopes})
    return client, secret


@transaction.atomic
def revoke_api_client(client: ApiClient, *, by, via: str = "admin") -> bool:
    """The client's tokens stop working at once (its principal is deactivated); False when it
    was revoked already."""
    if client.revoked_at is not None:
        return False
    client.revoked_at = timezone.now()
    client.save(update_fields=["revoked_at"])
    User.objects.filter(pk=client.principal_id).update(is_active=False)
    record_activity(actor=by, verb="revoked", obj=client, via=via)
    return True


def issue_client_token(*, client_id: str, client_secret: str) -> IssuedToken:
    """An access token for a client that proved its secret (client credentials grant)."""
    client = ApiClient.objects.filter(client_id=client_id).select_related("principal").first()
    if client is None:
        check_password(client_secret, _DUMMY_HASH)
        raise InvalidClient
    if not check_password(client_secret, client.secret_hash) or not client.active or not client.principal.is_active:
        raise InvalidClient
    lifetime = token_lifetime()
    token = AccessToken.for_user(client.principal)
    token.set_exp(lifetime=lifetime)
    token["client_id"] = client.client_id
    token["scope"] = " ".join(client.scopes)
    ApiClient.objects.filter(pk=client.pk).update(last_token_at=timezone.now())
    return IssuedToken(access_token=str(token), expires_in=int(lifetime.total_seconds()), scopes=tuple(client.scopes))


def client_scopes(*, client_id: str, principal_id: int) -> frozenset[str] | None:
    """The scopes of an active client with this principal, or None (revoked, unknown)."""
    scopes = (
        ApiClient.objects.filter(client_id=client_id, principal_id=principal_id, revoked_at__isnull=True)
        .values_list("scopes", flat=True)
        .first()
    )
    return None if scopes is None else frozenset(scopes)
