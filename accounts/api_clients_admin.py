"""API clients in the admin: organization admins create one (its secret is shown once, on the
page that follows) and revoke it (its tokens stop working at once)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.admin_tenancy import TenantScopedAdmin, require_permission
from accounts.api_clients import create_api_client, revoke_api_client
from accounts.models import ApiClient, ApiScope


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the client may do, within the operator role of its organization.",
    )

    class Meta:
        model = ApiClient
        fields = ["organization", "name", "scopes"]


@admin.register(ApiClient)
class ApiClientAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "organization"
    form = ApiClientForm
    list_display = ["name", "organization", "client_id", "scope_list", "created_at", "last_token_at", "state"]
    list_filter = ["organization"]
    search_fields = ["name", "client_id"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return []
        return ["organization", "name", "client_id", "scope_list", "created_by", "created_at", "last_token_at", "state"]

    def get_fields(self, request: HttpRequest, obj=None):
        return ["organization", "name", "scopes"] if obj is None else self.get_readonly_fields(request, obj)

    @display(description="Scopes")
    def scope_list(self, client: ApiClient) -> str:
        return ", ".join(client.scopes)

    @display(description="State", label={"active": "success", "revoked": "danger"})
    def state(self, client: ApiClient) -> str:
        return "active" if client.active else "revoked"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a client is created and revoked, never edited: create another

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoked clients stay, for the audit trail

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.add_apiclient")

    def save_model(self, request: HttpRequest, obj: ApiClient, form, change: bool) -> None:
        client, secret = create_api_client(
            organization=form.cleaned_data["organization"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            by=request.user,
        )
        # The admin's redirect, log and message name the row the service created.
        obj.pk, obj.client_id = client.pk, client.client_id
        messages.warning(
            request,
            f"Client id: {client.client_id} - secret: {secret} - copy the secret now: it is not shown again. "
            "The client asks for tokens at POST /api/v1/auth/client-token (grant_type=client_credentials).",
        )

    @admin.action(description="Revoke (its tokens stop working)", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        require_permission(request, "accounts.add_apiclient", queryset)
        count = sum(revoke_api_client(client, by=request.user) for client in queryset)
        self.message_user(request, f"Revoked {count} API client(s).")
