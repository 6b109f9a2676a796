"""Which organization an object belongs to, and which organizations a user acts in."""

from django.db.models import QuerySet

from accounts.models import Membership, Organization


def organization_id_of(obj) -> int | None:
    """The tenant of a row: its own organization, or its site's, or its charger's site's."""
    if isinstance(obj, Organization):
        return obj.pk
    for path in (("organization_id",), ("site", "organization_id"), ("charger", "site", "organization_id")):
        value = obj
        try:
            for attribute in path:
                value = getattr(value, attribute)
        except AttributeError:
            continue
        if value is not None:
            return value
    return None


def roles_by_organization(user) -> dict[int, str]:
    """{organization id: role} for an active user, cached on the user object."""
    if not user.is_active or user.is_anonymous:
        return {}
    cached = getattr(user, "_roles_by_organization", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
        user._roles_by_organization = cached
    return cached


def organizations_of(user, *, roles=None) -> QuerySet[Organization]:
    """The organizations a user acts in (all for a platform superuser), optionally only those
    where they hold one of `roles`."""
    if user.is_superuser:
        return Organization.objects.all()
    memberships = roles_by_organization(user)
    ids = [org_id for org_id, role in memberships.items() if roles is None or role in roles]
    return Organization.objects.filter(pk__in=ids)


def scope_queryset(queryset: QuerySet, user, tenant_path: str, *, roles=None) -> QuerySet:
    """Rows of `queryset` in the user's organizations; `tenant_path` leads from the model to
    its Organization ("" for Organization itself). Platform superusers see every row."""
    if user.is_superuser:
        return queryset
    lookup = f"{tenant_path}__in" if tenant_path else "pk__in"
    return queryset.filter(**{lookup: organizations_of(user, roles=roles)})


class TenantImportGuard:
    """For django-import-export resources whose rows name an `organization` (slug): a row
    for an organization the importing user may not write to is refused (S15)."""

    WRITER_ROLES = ("admin", "operator")

    def before_import_row(self, row, **kwargs) -> None:
        user = kwargs.get("user")
        if user is not None and not user.is_superuser:
            allowed = set(organizations_of(user, roles=self.WRITER_ROLES).values_list("slug", flat=True))
            if row.get("organization") not in allowed:
                raise ValueError(f"You may not import into organization {row.get('organization')!r}.")
        super().before_import_row(row, **kwargs)
