from django.db import models


class Direction(models.TextChoices):
    IN = "in", "Charger → CSMS"
    OUT = "out", "CSMS → charger"


class MessageType(models.IntegerChoices):
    CALL = 2, "CALL"
    CALLRESULT = 3, "CALLRESULT"
    CALLERROR = 4, "CALLERROR"


class MessageLog(models.Model):
    """One OCPP-J WebSocket frame, in or out, written in batches by `ocpp_gateway.message_log`.

    `charge_point_id` is a plain string rather than a foreign key: frames from unknown chargers
    are logged too, and logging never needs a lookup. Everything here came from (or went to) a
    charger and is untrusted text.
    """

    charge_point_id = models.CharField("charger id", max_length=48, db_index=True)
    connection_id = models.UUIDField(null=True, blank=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(
        choices=MessageType.choices, null=True, blank=True, help_text="Empty for frames that could not be parsed."
    )
    message_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True, help_text="The raw text, kept only when the frame could not be parsed.")
    error_code = models.CharField(max_length=64, blank=True)
    error_description = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(help_text="When the frame was received or sent (UTC).")

    class Meta:
        verbose_name = "OCPP message"
        verbose_name_plural = "OCPP messages"
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["charge_point_id", "timestamp"], name="ocpp_msglog_cp_ts_idx"),
            models.Index(fields=["action", "timestamp"], name="ocpp_msglog_action_ts_idx"),
            models.Index(fields=["timestamp"], name="ocpp_msglog_ts_idx"),
        ]

    def __str__(self) -> str:
        label = self.action or self.get_message_type_display() or "unparseable"
        return f"{self.charge_point_id} {self.direction} {label} {self.message_id}".strip()
