"""Permissions from roles: a member holds their role's permissions inside their organization
(accounts.roles). Without an object, `has_perm` answers whether the user holds the
permission in any of their organizations (what the admin asks to show a page); with an
object, only in that object's organization.

Permissions granted to a user or group directly (by a platform administrator) are platform
permissions and hold for every organization. An API client's principal, signed in with a
client token, holds only what its scopes allow (`api_scopes`, set by the authentication)."""

from django.contrib.auth.backends import BaseBackend, ModelBackend

from accounts.roles import role_permissions, scope_permissions
from accounts.tenancy import organization_id_of, roles_by_organization

_platform = ModelBackend()


class RoleBackend(BaseBackend):
    def get_all_permissions(self, user, obj=None) -> set[str]:
        granted = self._role_permissions(user, obj)
        scopes = getattr(user, "api_scopes", None)
        return granted if scopes is None else granted & scope_permissions(scopes)

    def _role_permissions(self, user, obj) -> set[str]:
        roles = roles_by_organization(user)
        if obj is None:
            return set().union(*(role_permissions(role) for role in roles.values()))
        # ModelBackend ignores its grants when asked about an object; platform grants apply.
        platform = _platform.get_all_permissions(user)
        organization_id = organization_id_of(obj)
        if organization_id is None or organization_id not in roles:
            return platform
        return platform | role_permissions(roles[organization_id])

    def has_perm(self, user, perm: str, obj=None) -> bool:
        return user.is_active and perm in self.get_all_permissions(user, obj)
