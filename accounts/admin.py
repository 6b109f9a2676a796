from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin, OutstandingTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.admin_tenancy import PlatformOnlyAdmin, TenantScopedAdmin
from accounts.models import Activity, Membership, Organization, User

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PlatformOnlyAdmin, ModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["permissions"]


class EmailUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")


class EmailUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "organization"]


@admin.register(Organization)
class OrganizationAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin):
    tenant_path = ""
    list_display = ["name", "slug", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(User)
class UserAdmin(PlatformOnlyAdmin, BaseUserAdmin, ModelAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "memberships__role"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin):
    tenant_path = "organization"
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


# JWT bookkeeping (simplejwt's blacklist): platform superusers only.
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(OutstandingToken)
class PlatformOutstandingTokenAdmin(PlatformOnlyAdmin, OutstandingTokenAdmin):
    pass


@admin.register(BlacklistedToken)
class PlatformBlacklistedTokenAdmin(PlatformOnlyAdmin, BlacklistedTokenAdmin):
    pass


# Login attempts recorded by django-axes (S19): platform superusers only.
for _model, _model_admin in ((AccessAttempt, AccessAttemptAdmin), (AccessLog, AccessLogAdmin),
                             (AccessFailureLog, AccessFailureLogAdmin)):  # fmt: skip
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(f"Platform{_model_admin.__name__}", (PlatformOnlyAdmin, _model_admin), {}))


@admin.register(Activity)
class ActivityAdmin(TenantScopedAdmin, ModelAdmin):
    """Who did what, when, through which channel, with the values before and after."""

    tenant_path = "organization"
    list_display = ["timestamp", "actor", "organization", "via", "verb", "object_type", "object_repr"]
    list_filter = ["via", "verb", "object_type", "organization"]
    search_fields = ["object_repr", "object_id", "actor__email"]
    list_select_related = ["actor", "organization"]
    date_hierarchy = "timestamp"
    readonly_fields = ["timestamp", "actor", "organization", "via", "verb", "object_type", "object_id", "object_repr",
                       "changes"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # append-only
