"""Reads of webhooks, scoped to the acting user's organizations (any role that uses the admin:
viewers see them too; writes need the permissions of accounts.roles)."""

from django.db.models import QuerySet

from accounts.roles import ADMIN_ROLES
from accounts.tenancy import scope_queryset
from integrations.models import WebhookDelivery, WebhookSubscription


def webhook_subscriptions_for(user) -> QuerySet[WebhookSubscription]:
    return scope_queryset(
        WebhookSubscription.objects.select_related("organization").order_by("pk"), user, "organization",
        roles=ADMIN_ROLES,
    )  # fmt: skip


def webhook_deliveries_for(user, *, subscription: WebhookSubscription | None = None) -> QuerySet[WebhookDelivery]:
    """Newest first."""
    deliveries = WebhookDelivery.objects.order_by("-pk")
    if subscription is not None:
        deliveries = deliveries.filter(subscription=subscription)
    return scope_queryset(deliveries, user, "subscription__organization", roles=ADMIN_ROLES)
