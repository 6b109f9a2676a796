from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
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
from accounts.roles import ADMIN_ROLES
from common.times import local_time_column

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
    """Members at a glance; organization admins add and change them on the Memberships page."""

    model = Membership
    extra = 0
    autocomplete_fields = ["user", "organization"]

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["user", "role"]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, obj)


@admin.register(Organization)
class OrganizationAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin):
    tenant_path = ""
    list_display = ["name", "slug", "kind", "operator_name", "created"]
    list_filter = ["kind"]
    # People and organizations belong to no site: their times are in UTC, and say so.
    created = local_time_column("created_at", "Created", zone_path="", seconds=False)
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(User)
class UserAdmin(PlatformOnlyAdmin, BaseUserAdmin, ModelAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active", "last_login_utc"]
    last_login_utc = local_time_column("last_login", "Last login", zone_path="", seconds=False, empty="never")
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


class MembershipForm(forms.ModelForm):
    """An organization admin adds a person by email address; the account is created when
    there is none yet (with no usable password: the person sets one through password reset)."""

    email = forms.EmailField(help_text="The person's email address.")

    class Meta:
        model = Membership
        fields = ["organization", "role"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean(self) -> dict:
        data = super().clean()
        email, organization = data.get("email"), data.get("organization")
        already = Membership.objects.filter(user__email__iexact=email or "", organization=organization)
        if email and organization and not self.instance.pk and already.exists():
            self.add_error("email", "This person is already a member of the organization.")
        return data

    def save(self, commit: bool = True) -> Membership:
        if not self.instance.pk:
            email = self.cleaned_data["email"].lower()
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(email, password=None, is_staff=self.cleaned_data["role"] in ADMIN_ROLES)
            self.instance.user = user
        return super().save(commit)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin):
    tenant_path = "organization"
    form = MembershipForm
    list_display = ["user", "organization", "role", "created"]
    created = local_time_column("created_at", "Created", zone_path="", seconds=False)
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["organization"]
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
    list_display = ["time", "actor", "organization", "via", "verb", "object_type", "object_repr"]
    list_filter = ["via", "verb", "object_type", "organization"]
    search_fields = ["object_repr", "object_id", "actor__email"]
    list_select_related = ["actor", "organization"]
    date_hierarchy = "timestamp"
    # An organization's sites may lie in several time zones: its activity is in UTC, and says so.
    time = local_time_column("timestamp", "Time", zone_path="")
    fields = ["time", "actor", "organization", "via", "verb", "object_type", "object_id", "object_repr", "changes"]
    readonly_fields = ["time", "actor", "organization", "via", "verb", "object_type", "object_id", "object_repr",
                       "changes"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # append-only


from accounts import api_clients_admin  # noqa: E402,F401  (registers the API client admin)
