"""Tenant isolation in the admin (S15): every ModelAdmin names the path from its model to
the Organization, and shows, offers and accepts only rows of the user's organizations."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.roles import ADMIN_ROLES, model_permission
from accounts.services import record_change, snapshot
from accounts.tenancy import scope_queryset


def require_permission(request: HttpRequest, permission: str, objects) -> None:
    """Refuse an admin action unless the user holds `permission` on every object it touches:
    a role counts in its own organization only (S16)."""
    if not all(request.user.has_perm(permission, obj) for obj in objects):
        raise PermissionDenied


def scope_to_tenant(queryset: QuerySet, request: HttpRequest, tenant_path: str) -> QuerySet:
    """The rows of the organizations where the user has an admin-side role."""
    return scope_queryset(queryset, request.user, tenant_path, roles=ADMIN_ROLES)


class TenantScopedAdmin:
    """Mix into a ModelAdmin and set `tenant_path` ("" for Organization itself,
    "organization", "site__organization", "charger__site__organization", ...).

    - changelists, change views, actions, exports and autocomplete see only the user's rows;
    - foreign-key choices (and autocomplete) are scoped by the related model's own admin;
    - object permissions are asked for the object, so a role counts in its organization only.
    """

    tenant_path: str = ""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_tenant(super().get_queryset(request), request, self.tenant_path)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        related_admin = admin.site._registry.get(db_field.related_model)
        if isinstance(related_admin, TenantScopedAdmin) and "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_tenant(
                db_field.related_model._default_manager.all(), request, related_admin.tenant_path
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """Saved, and written to the audit trail with the values before and after."""
        before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        record_change(actor=request.user, verb="changed" if change else "created", obj=obj, via="admin", before=before)

    def delete_model(self, request: HttpRequest, obj) -> None:
        record_change(actor=request.user, verb="deleted", obj=obj, via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for obj in queryset:
            record_change(actor=request.user, verb="deleted", obj=obj, via="admin")
        super().delete_queryset(request, queryset)

    def _object_permission(self, request: HttpRequest, action: str, obj) -> bool:
        return request.user.has_perm(model_permission(self.model, action), obj)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is None:
            return super().has_view_permission(request)
        return self._object_permission(request, "view", obj) or self._object_permission(request, "change", obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is None:
            return super().has_change_permission(request)
        return super().has_change_permission(request, obj) and self._object_permission(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is None:
            return super().has_delete_permission(request)
        return super().has_delete_permission(request, obj) and self._object_permission(request, "delete", obj)


class PlatformOnlyAdmin:
    """Data that belongs to no tenant (unknown chargers, users, groups): platform superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class WriteOnceAdmin:
    """Rows created through a service (which also tells the charger) and never edited
    afterwards: the add form is editable, a saved row is shown read-only."""

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return []
        return [field.name for field in self.model._meta.fields if field.name != "id"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)
