"""Tenant isolation in the admin (S15): every ModelAdmin names the path from its model to
the Organization, and shows, offers and accepts only rows of the user's organizations."""

from functools import cache

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from unfold.contrib.filters.admin.mixins import AutocompleteMixin

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


def visible_rows(model: type[Model], request: HttpRequest) -> QuerySet:
    """The rows of `model` the user may see in the admin, as its own registered admin scopes them;
    a model without a tenant-scoped admin (users, platform data) is for platform superusers only."""
    related_admin = admin.site._registry.get(model)
    rows = model._default_manager.all()
    if isinstance(related_admin, TenantScopedAdmin):
        return scope_to_tenant(rows, request, related_admin.tenant_path)
    return rows if request.user.is_superuser else rows.none()


class TenantScopedChoices:
    """Mixed into a related-field list filter (Django's or unfold's): the sidebar offers, and shows
    as selected, only related rows the user may see. Otherwise the filter lists every tenant's
    organizations, sites, tariffs ... by name and id, whatever the changelist's own rows are."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        self._visible = visible_rows(field.related_model, request)
        super().__init__(field, request, params, model, model_admin, field_path)
        # A foreign id typed into the URL still filters (to nothing, the rows are scoped), but is
        # not rendered as the selected choice: an autocomplete filter would print its name.
        if self.lookup_val:
            allowed = {str(pk) for pk in self._visible.filter(pk__in=self.lookup_val).values_list("pk", flat=True)}
            self.lookup_val = [value for value in self.lookup_val if value in allowed] or None

    def field_choices(self, field, request: HttpRequest, model_admin) -> list[tuple]:
        if isinstance(self, AutocompleteMixin):
            # Offered by the related admin's autocomplete view, which is scoped.
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to={"pk__in": self._visible.values("pk")}
        )


@cache
def tenant_scoped_filter(filter_class: type) -> type:
    """`filter_class` with TenantScopedChoices mixed in (one class per filter class)."""
    return type(f"TenantScoped{filter_class.__name__}", (TenantScopedChoices, filter_class), {})


def _default_filter_class(model: type[Model], field_path: str) -> type | None:
    """The list filter Django would pick for a plain field path, as ChangeList does."""
    try:
        field = get_fields_from_path(model, field_path)[-1]
    except (FieldDoesNotExist, NotRelationField):
        return None
    for test, filter_class in admin.FieldListFilter._field_list_filters:
        if test(field):
            return filter_class
    return None


def tenant_scoped_list_filter(model: type[Model], item):
    """One list_filter entry, with related-field filters scoped to the user's rows.
    RelatedOnlyFieldListFilter already offers only what the (scoped) changelist holds; simple
    filters and choice/date/boolean filters name no tenant data of their own."""
    if isinstance(item, str):
        field_path, filter_class = item, _default_filter_class(model, item)
    elif isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], type):
        field_path, filter_class = item
    else:
        return item
    if (
        filter_class is None
        or not issubclass(filter_class, admin.RelatedFieldListFilter)
        or issubclass(filter_class, admin.RelatedOnlyFieldListFilter | TenantScopedChoices)
    ):
        return item
    return (field_path, tenant_scoped_filter(filter_class))


class TenantScopedAdmin:
    """Mix into a ModelAdmin and set `tenant_path` ("" for Organization itself,
    "organization", "site__organization", "charger__site__organization", ...).

    - changelists, change views, actions, exports and autocomplete see only the user's rows;
    - foreign-key choices (and autocomplete) are scoped by the related model's own admin;
    - related list filters offer only related rows the user may see (tenant_scoped_list_filter);
    - object permissions are asked for the object, so a role counts in its organization only.
    """

    tenant_path: str = ""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_tenant(super().get_queryset(request), request, self.tenant_path)

    def get_list_filter(self, request: HttpRequest):
        return [tenant_scoped_list_filter(self.model, item) for item in super().get_list_filter(request)]

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
