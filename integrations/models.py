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
