"""Webhooks in the admin: subscriptions (the secret shown once, after creation), their
deliveries (read-only: status, attempts, answer, latency), "Resend" and "Resume"."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.admin_tenancy import TenantScopedAdmin, require_permission
from common.times import format_local
from integrations.events import EVENT_TYPES
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import (
    check_subscription,
    create_subscription,
    pause,
    resend,
    resume,
    rotate_secret,
    update_subscription,
)

ADD = "integrations.add_webhooksubscription"
CHANGE = "integrations.change_webhooksubscription"


class WebhookSubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=sorted(EVENT_TYPES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["organization", "name", "url", "event_types", "site", "charger"]
        help_texts = {"url": "https, reachable from the internet (not an address of our own network)."}

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if organization is not None and cleaned.get("url"):
            try:
                check_subscription(
                    organization_id=organization.pk, url=cleaned["url"], event_types=cleaned.get("event_types", []),
                    site=cleaned.get("site"), charger=cleaned.get("charger"),
                )  # fmt: skip
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "organization"
    form = WebhookSubscriptionForm
    list_display = ["__str__", "organization", "url", "events", "state", "failing"]
    list_filter = ["active", "organization"]
    actions = ["resume_sending", "pause_sending", "rotate_secrets"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        """New webhooks only in the organizations where the user's role may add them (a viewer
        of one organization and admin of another chooses among the second's)."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "organization" and field is not None:
            allowed = [
                organization.pk
                for organization in field.queryset
                if request.user.has_perm(ADD, WebhookSubscription(organization=organization))
            ]
            field.queryset = field.queryset.filter(pk__in=allowed)
        return field

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["organization", "state", "pause_reason", "failing"] if obj else []

    @display(description="Events")
    def events(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_types) or "All"

    @display(description="State", label={"active": "success", "paused": "danger"})
    def state(self, subscription: WebhookSubscription) -> str:
        return "active" if subscription.active else "paused"

    @display(description="Failing since")
    def failing(self, subscription: WebhookSubscription) -> str:
        return format_local(subscription.failing_since) or "-"

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form, change: bool) -> None:
        fields = {name: form.cleaned_data.get(name) for name in ("name", "url", "event_types", "site", "charger")}
        fields["event_types"] = fields["event_types"] or []
        fields["name"] = fields["name"] or ""
        if change:
            update_subscription(obj, by=request.user, via="admin", **fields)
            return
        created = create_subscription(
            organization=form.cleaned_data["organization"], by=request.user, via="admin", **fields
        )
        obj.pk = created.pk
        messages.warning(
            request,
            f"Signing secret: {created.secret} - copy it now, it is not shown again. Verify each request's "
            "X-CSMS-Signature with it (README, Webhooks).",
        )

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE)

    @admin.action(description="Rotate the signing secret", permissions=["resume"])
    def rotate_secrets(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        require_permission(request, CHANGE, queryset)
        for subscription in queryset:
            secret = rotate_secret(subscription, by=request.user, via="admin")
            messages.warning(
                request, f"New signing secret of {subscription}: {secret} - copy it now, it is not shown again."
            )

    @admin.action(description="Pause (events wait)", permissions=["resume"])
    def pause_sending(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        require_permission(request, CHANGE, queryset)
        reason = f"Paused by {request.user}."
        count = sum(pause(subscription, reason=reason, by=request.user, via="admin") for subscription in queryset)
        self.message_user(request, f"Paused {count} webhook(s); their events wait until resumed.")

    @admin.action(description="Resume (send what waited)", permissions=["resume"])
    def resume_sending(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        require_permission(request, CHANGE, queryset)
        count = sum(resume(subscription, by=request.user) for subscription in queryset)
        self.message_user(request, f"Resumed {count} webhook(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "subscription__organization"
    list_display = ["created", "subscription", "event_type", "status", "attempts", "response_code", "latency_ms",
                    "last_error"]  # fmt: skip
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = ["subscription", "event_id", "event_type", "body", "status", "attempts", "response_code",
                       "latency_ms", "last_error", "next_attempt_at", "created_at", "delivered_at"]  # fmt: skip
    actions = ["resend_deliveries"]

    @display(description="Created", ordering="created_at")
    def created(self, delivery: WebhookDelivery) -> str:
        return format_local(delivery.created_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE)

    @admin.action(description="Resend", permissions=["resend"])
    def resend_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        chosen = list(queryset.select_related("subscription"))
        require_permission(request, CHANGE, [delivery.subscription for delivery in chosen])
        count = len(resend(chosen, by=request.user))
        self.message_user(request, f"{count} delivery(ies) queued again.")
