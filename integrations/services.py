"""Writes of webhooks (issue 20): subscriptions made, changed, deleted, paused and resumed,
deliveries resent. Each is atomic and records its audit entry with the acting user; the sending
itself is integrations.webhooks."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import record_activity, record_change, snapshot
from integrations.events import EVENT_TYPES
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import check_url, send_later

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status


def check_subscription(*, organization_id: int, url: str, event_types: list[str], site, charger) -> None:
    """ValidationError (per field) for a subscription that may not be saved."""
    errors: dict[str, list[str]] = {}
    try:
        check_url(url)
    except ValidationError as error:
        errors["url"] = error.messages
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        errors["event_types"] = [f"Unknown event types: {', '.join(unknown)}."]
    if site is not None and site.organization_id != organization_id:
        errors["site"] = ["Not a site of this organization."]
    if charger is not None and charger.site.organization_id != organization_id:
        errors["charger"] = ["Not a charger of this organization."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_subscription(
    *, organization, url: str, event_types: list[str], name: str = "", site=None, charger=None, by, via: str
) -> WebhookSubscription:
    """A new subscription with a fresh secret (to be shown once: `subscription.secret`)."""
    check_subscription(organization_id=organization.pk, url=url, event_types=event_types, site=site, charger=charger)
    subscription = WebhookSubscription.objects.create(
        organization=organization, name=name, url=url, event_types=sorted(set(event_types)), site=site,
        charger=charger, secret=secrets.token_urlsafe(32),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    record_change(actor=by, verb="created", obj=subscription, via=via)
    return subscription


@transaction.atomic
def update_subscription(subscription: WebhookSubscription, *, by, via: str, **changes) -> WebhookSubscription:
    """Change name, url, event_types, site or charger (the organization and secret stay). A new
    URL is tried at once: the failing count starts again and what waits is due now."""
    # The stored row, not `subscription`: an admin form has already set its new values on it.
    stored = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = snapshot(stored)
    for field, value in changes.items():
        if field not in ("name", "url", "event_types", "site", "charger"):
            raise ValueError(f"{field} cannot be changed")
        setattr(subscription, field, value)
    check_subscription(
        organization_id=subscription.organization_id, url=subscription.url, event_types=subscription.event_types,
        site=subscription.site, charger=subscription.charger,
    )  # fmt: skip
    # Only these fields: a worker may have changed the others (failing_since, active, its hold).
    fields = ["name", "url", "event_types", "site", "charger"]
    if subscription.url != stored.url:
        subscription.failing_since = None
        fields.append("failing_since")
        subscription.deliveries.filter(status__in=WebhookDelivery.WAITING).update(next_attempt_at=timezone.now())
        if stored.active:
            transaction.on_commit(lambda: send_later(subscription.pk))
    subscription.save(update_fields=fields)
    record_change(actor=by, verb="changed", obj=subscription, via=via, before=before)
    return subscription


@transaction.atomic
def pause(subscription: WebhookSubscription, *, reason: str, by=None, via: str = "system") -> bool:
    """Stop sending (deliveries wait); the organization's admins are emailed when the system
    pauses it. False when it was paused already."""
    fields = {"active": False, "paused_at": timezone.now(), "pause_reason": reason[:255]}
    # Conditional: the worker that pauses it may hold a stale copy (a person paused it first).
    if not WebhookSubscription.objects.filter(pk=subscription.pk, active=True).update(**fields):
        subscription.active = False
        return False
    for field, value in fields.items():
        setattr(subscription, field, value)
    subscription.deliveries.filter(status=Status.RETRYING).update(status=Status.FAILED)
    record_activity(actor=by, verb="paused", obj=subscription, via=via, changes={"reason": reason})
    if by is None:
        transaction.on_commit(lambda: _email_admins(subscription))
    return True


@transaction.atomic
def resume(subscription: WebhookSubscription, *, by, via: str = "admin") -> bool:
    """Send again, starting with what waited; False when it was active."""
    fields = {"active": True, "paused_at": None, "pause_reason": "", "failing_since": None}
    if not WebhookSubscription.objects.filter(pk=subscription.pk, active=False).update(**fields):
        return False
    for field, value in fields.items():
        setattr(subscription, field, value)
    subscription.deliveries.filter(status=Status.FAILED).update(status=Status.RETRYING)
    subscription.deliveries.filter(status__in=WebhookDelivery.WAITING).update(next_attempt_at=timezone.now())
    record_activity(actor=by, verb="resumed", obj=subscription, via=via)
    transaction.on_commit(lambda: send_later(subscription.pk))
    return True


@transaction.atomic
def resend(deliveries: Sequence[WebhookDelivery], *, by, via: str = "admin") -> list[WebhookDelivery]:
    """Send these deliveries' events again. A delivered one is copied to a new delivery at the
    end of its subscription's queue (the receiver sees the same event id again); one still
    waiting is tried now, in its place (no second copy), or on resuming when its subscription
    is paused. Returns the deliveries queued (the copies, or the waiting ones themselves)."""
    now = timezone.now()
    delivered = [delivery for delivery in deliveries if delivery.status == Status.DELIVERED]
    waiting = [delivery for delivery in deliveries if delivery.status != Status.DELIVERED]
    queued = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription_id=delivery.subscription_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            body=delivery.body,
        )
        for delivery in delivered
    )
    if waiting:
        WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in waiting]).update(next_attempt_at=now)
        queued += waiting
    for delivery in deliveries:
        record_activity(actor=by, verb="resent", obj=delivery.subscription, via=via, changes={"delivery": delivery.pk})
    subscriptions = sorted({delivery.subscription_id for delivery in deliveries})
    transaction.on_commit(lambda: _send_all_later(subscriptions))
    return queued


def _send_all_later(subscription_ids: list[int]) -> None:
    for subscription_id in subscription_ids:
        send_later(subscription_id)


def _email_admins(subscription: WebhookSubscription) -> None:
    """Tell the organization's admins (on commit of the pause; a mail server that fails is
    logged, the pause stays)."""
    admins = Membership.objects.filter(
        organization_id=subscription.organization_id, role=Role.ADMIN, user__is_active=True
    ).values_list("user__email", flat=True)
    link = settings.CSMS_BASE_URL.rstrip("/") + reverse(
        "admin:integrations_webhooksubscription_change", args=[subscription.pk]
    )
    subject = f"[{subscription.organization}] Webhook paused: {subscription}"[:200]
    body = (
        f"The webhook {subscription} ({subscription.url}) of {subscription.organization} was paused: "
        f"{subscription.pause_reason}\n\nIts events wait; once the receiver works again, resume it here "
        f'(action "Resume"): {link}'
    )
    try:
        send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in admins if address])
    except Exception:
        logger.exception("webhook %s paused; its admins could not be emailed", subscription.pk)


@transaction.atomic
def rotate_secret(subscription: WebhookSubscription, *, by, via: str) -> str:
    """A new signing secret, returned to be shown once; deliveries from now on are signed with it
    (the receiver must accept both while it switches)."""
    subscription.secret = secrets.token_urlsafe(32)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(secret=subscription.secret)
    record_activity(actor=by, verb="rotated its secret", obj=subscription, via=via)
    return subscription.secret


@transaction.atomic
def delete_subscription(subscription: WebhookSubscription, *, by, via: str) -> None:
    """Delete it with its deliveries (those waiting are not sent)."""
    record_change(actor=by, verb="deleted", obj=subscription, via=via)
    subscription.delete()
