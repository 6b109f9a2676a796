from django.db import models
from django.utils import timezone


class InboundEvent(models.Model):
    """An event a trusted system sent (POST /api/v1/integrations/events), kept with its answer so
    that the same Idempotency-Key from the same client gets the same answer and does nothing
    again (integrations.inbound)."""

    client = models.ForeignKey("accounts.ApiClient", on_delete=models.CASCADE, related_name="inbound_events")
    idempotency_key = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    # SHA-256 of the request body (canonical JSON): a key reused for another request is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "idempotency_key"], name="inbound_event_client_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.idempotency_key})"


class WebhookSubscription(models.Model):
    """Where an organization wants its outbound events POSTed (integrations.webhooks): signed with
    the subscription's secret, delivered in order, retried with backoff, paused after failing for
    INTEGRATIONS_WEBHOOK_PAUSE_AFTER hours."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, blank=True)
    url = models.CharField("URL", max_length=500)
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every type.")
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    charger = models.ForeignKey("sites.Charger", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The HMAC key of the signatures: shown once when made; needed in clear to sign.
    secret = models.CharField(max_length=64, editable=False)
    active = models.BooleanField(default=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    pause_reason = models.CharField(max_length=255, blank=True, editable=False)
    # Since when every attempt failed (None while deliveries succeed).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # A worker delivering this subscription holds it until then (one worker at a time: order).
    delivering_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organization__name", "name", "pk"]
        verbose_name = "webhook"

    def __str__(self) -> str:
        return self.name or self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # not tried yet
        RETRYING = "retrying", "Retrying"  # an attempt failed; tried again at next_attempt_at
        # Its attempts were failing when the subscription was paused: tried again on resuming.
        FAILED = "failed", "Failed"
        DELIVERED = "delivered", "Delivered"

    # Not delivered yet: a subscription's queue, sent in id order.
    WAITING = (Status.PENDING, Status.RETRYING, Status.FAILED)

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=36)
    event_type = models.CharField(max_length=40)
    body = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["subscription", "status", "id"], name="webhook_delivery_queue_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.subscription_id} ({self.status})"
