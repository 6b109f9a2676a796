from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import Organization
from sites.commands.intents import SchedulePeriod
from sites.models import Charger, Connector


class IdTokenKind(models.TextChoices):
    # 2.0.1 IdTokenEnumType; a 1.6 idTag is an ISO14443 card in practice.
    ISO14443 = "ISO14443", "RFID (ISO 14443)"
    ISO15693 = "ISO15693", "RFID (ISO 15693)"
    CENTRAL = "Central", "Central (app / remote)"
    EMAID = "eMAID", "eMAID (contract)"
    KEY_CODE = "KeyCode", "Key code"
    LOCAL = "Local", "Local"
    MAC_ADDRESS = "MacAddress", "MAC address"
    NO_AUTHORIZATION = "NoAuthorization", "No authorization"


def token_type_of(kind: str) -> str:
    """A token's kind in the commands' words (LocalAuthorization.token_type): empty for the
    RFID card most tokens are."""
    return "" if kind == IdTokenKind.ISO14443 else kind


class IdTokenStatus(models.TextChoices):
    # 1.6 AuthorizationStatus (sec. 7.2); ConcurrentTx is decided at run time, not stored.
    ACCEPTED = "Accepted", "Accepted"
    BLOCKED = "Blocked", "Blocked"
    EXPIRED = "Expired", "Expired"
    INVALID = "Invalid", "Invalid"


class IdToken(models.Model):
    """An identifier a driver presents (RFID card, app, key code...)."""

    Kind = IdTokenKind
    Status = IdTokenStatus

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="id_tokens")
    # 1.6 idTag is CiString20Type; 2.0.1 idToken is up to 36 characters.
    id_tag = models.CharField("id tag", max_length=36)
    kind = models.CharField(max_length=16, choices=IdTokenKind.choices, default=IdTokenKind.ISO14443)
    status = models.CharField(max_length=16, choices=IdTokenStatus.choices, default=IdTokenStatus.ACCEPTED)
    expires_at = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField("parent id tag", max_length=36, blank=True)
    holder_name = models.CharField(max_length=200, blank=True)
    # 2.0.1 IdTokenInfoType.chargingPriority: -9 to 9, higher first, 0 the default; a station
    # sharing its power may favour a higher one. 1.6 has no such thing.
    charging_priority = models.SmallIntegerField(
        default=0,
        db_default=0,  # rows written by other means than Django (imports, SQL) get the default too
        validators=[MinValueValidator(-9), MaxValueValidator(9)],
        help_text="-9 (lowest) to 9 (highest), 0 by default: told to OCPP 2.0.1 stations, which may favour a "
        "higher priority when they share their power.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "id_tag"]
        verbose_name = "ID token"
        constraints = [
            # idTag is a case-insensitive string (1.6 CiString20Type).
            models.UniqueConstraint("organization", Lower("id_tag"), name="idtoken_tag_ci_unique_per_org"),
            models.CheckConstraint(condition=models.Q(status__in=IdTokenStatus.values), name="idtoken_status_valid"),
            models.CheckConstraint(condition=~models.Q(id_tag=""), name="idtoken_tag_not_empty"),
            models.CheckConstraint(
                condition=models.Q(charging_priority__gte=-9, charging_priority__lte=9),
                name="idtoken_charging_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return self.id_tag

    def effective_status(self, now=None) -> str:
        """The stored status, or Expired once the expiry date has passed."""
        now = now or timezone.now()
        if self.status == IdTokenStatus.ACCEPTED and self.expires_at and self.expires_at <= now:
            return IdTokenStatus.EXPIRED
        return self.status


class IdTokenPlace(models.Model):
    """Where a token may charge, when not everywhere: a charger, or one EVSE of it (an EVSE is
    a 2.0.1 station's EVSE, a 1.6 charger's connector). A token with places charges only there
    (2.0.1 C01.FR.20-22: the EVSEs are listed in idTokenInfo.evseId, and a station where it
    may not charge hears NotAtThisLocation); a token without any charges at every charger of
    its organization."""

    token = models.ForeignKey(IdToken, on_delete=models.CASCADE, related_name="places")
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="+")
    evse_id = models.PositiveSmallIntegerField(
        "EVSE", null=True, blank=True, help_text="Empty: every EVSE (connector, on OCPP 1.6) of the charger."
    )

    class Meta:
        verbose_name = "place where the token may charge"
        verbose_name_plural = "places where the token may charge (none: every charger)"
        constraints = [
            models.UniqueConstraint(fields=["token", "charger", "evse_id"], name="idtokenplace_once"),
            models.CheckConstraint(condition=~models.Q(evse_id=0), name="idtokenplace_evse_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.charger} EVSE {self.evse_id}" if self.evse_id else str(self.charger)


class SessionState(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"


class ChargingSession(models.Model):
    """A transaction on one connector. Charger times are kept as sent, beside our receipt times."""

    State = SessionState

    charger = models.ForeignKey(Charger, on_delete=models.PROTECT, related_name="sessions")
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="sessions")
    id_token = models.ForeignKey(IdToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    # The idTag exactly as the charger sent it, kept even when it matches no IdToken (R3).
    id_tag = models.CharField("id tag", max_length=36, blank=True)
    # 1.6: the integer transactionId we issue. 2.0.1: the charger's string transactionId.
    transaction_id = models.PositiveIntegerField(null=True, blank=True)
    transaction_uid = models.CharField("transaction id (2.0.1)", max_length=36, null=True, blank=True)
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.ACTIVE)
    started_at = models.DateTimeField(help_text="Start time as sent by the charger.")
    start_received_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Stop time as sent by the charger.")
    stop_received_at = models.DateTimeField(null=True, blank=True)
    meter_start_wh = models.BigIntegerField("meter start (Wh)")
    meter_stop_wh = models.BigIntegerField("meter stop (Wh)", null=True, blank=True)
    energy_wh = models.BigIntegerField("energy (Wh)", default=0)
    last_power_w = models.DecimalField("last power (W)", max_digits=12, decimal_places=2, null=True, blank=True)
    stop_reason = models.CharField(max_length=32, blank=True)
    stop_id_tag = models.CharField("stop id tag", max_length=36, blank=True)
    needs_review = models.BooleanField(default=False)
    review_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "charging session"
        constraints = [
            models.UniqueConstraint(
                fields=["connector"],
                condition=models.Q(state="active"),
                name="session_one_active_per_connector",
            ),
            models.UniqueConstraint(
                fields=["charger", "transaction_id"],
                condition=models.Q(transaction_id__isnull=False),
                name="session_transaction_id_unique_per_charger",
            ),
            models.UniqueConstraint(
                fields=["charger", "transaction_uid"],
                condition=models.Q(transaction_uid__isnull=False),
                name="session_transaction_uid_unique_per_charger",
            ),
            models.CheckConstraint(
                condition=models.Q(transaction_id__isnull=False) | models.Q(transaction_uid__isnull=False),
                name="session_has_transaction_id",
            ),
            models.CheckConstraint(
                condition=models.Q(state="active") | models.Q(stopped_at__isnull=False),
                name="session_completed_has_stop_time",
            ),
            models.CheckConstraint(condition=models.Q(energy_wh__gte=0), name="session_energy_not_negative"),
            models.CheckConstraint(condition=models.Q(state__in=SessionState.values), name="session_state_valid"),
        ]
        indexes = [
            models.Index(fields=["charger", "-started_at"], name="session_charger_started_idx"),
            models.Index(fields=["state", "-started_at"], name="session_state_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.charger.charge_point_id} tx {self.transaction_id or self.transaction_uid}"

    @property
    def duration(self):
        return (self.stopped_at - self.started_at) if self.stopped_at else None


class MeterValue(models.Model):
    """One sampled value (1.6 SampledValue, sec. 7.43). Values stay as sent in `raw_value`;
    `value` is the number when the charger sent a number."""

    session = models.ForeignKey(
        ChargingSession, on_delete=models.CASCADE, null=True, blank=True, related_name="meter_values"
    )
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="meter_values")
    # None means connector 0, the charger's main meter.
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, null=True, blank=True, related_name="meter_values"
    )
    timestamp = models.DateTimeField(help_text="Sample time as sent by the charger.")
    received_at = models.DateTimeField(default=timezone.now)
    measurand = models.CharField(max_length=64, default="Energy.Active.Import.Register")
    phase = models.CharField(max_length=8, blank=True)
    unit = models.CharField(max_length=16, default="Wh")
    context = models.CharField(max_length=32, default="Sample.Periodic")
    location = models.CharField(max_length=16, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    # SampledValue.value is an unbounded string in 1.6 (signed meter data can be long).
    raw_value = models.TextField()
    # Why this sample was flagged (non-numeric value, unknown transaction...); blank when fine.
    flag = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [
            models.Index(fields=["session", "timestamp"], name="metervalue_session_ts_idx"),
            models.Index(fields=["charger", "timestamp"], name="metervalue_charger_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.measurand}={self.raw_value}{self.unit} @ {self.timestamp:%Y-%m-%d %H:%M:%S}"


class TransactionIdAllocation(models.Model):
    """Issues OCPP 1.6 transaction ids: each row's auto-increment primary key is one id.
    Ids are unique across all chargers, so a charger quoting another charger's id is caught (R7)."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        verbose_name = "transaction id allocation"

    def __str__(self) -> str:
        return str(self.pk)


class UnmatchedStop(models.Model):
    """A StopTransaction that matches no session of the charger (R5, R7): acknowledged to the
    charger as if valid (1.6 errata 3.18), kept here with its meter data for review."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="unmatched_stops")
    # As the charger named it: an integer (1.6) or its own string (2.0.1), as for sessions.
    transaction_id = models.BigIntegerField(null=True, blank=True)
    transaction_uid = models.CharField("transaction id (2.0.1)", max_length=36, null=True, blank=True)
    id_tag = models.CharField(max_length=36, blank=True)
    stopped_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    meter_stop_wh = models.BigIntegerField("meter stop (Wh)")
    reason = models.CharField(max_length=32, blank=True)
    transaction_data = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=200, blank=True)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        transaction = self.transaction_id if self.transaction_id is not None else self.transaction_uid
        return f"{self.charger_id}: stop for unknown tx {transaction}"


class TransactionEventKind(models.TextChoices):
    """Where in its transaction an event falls (both directions of a charger's own transaction
    log: the first, one in between, the last)."""

    STARTED = "started", "Started"
    UPDATED = "updated", "Updated"
    ENDED = "ended", "Ended"


class TransactionEventRecord(models.Model):
    """One event of a transaction the charger names itself (a 2.0.1 station's string id), as
    received: kept once per (charger, transaction, sequence number), so that a resent event is
    recognised, answered as the first time and applied once (ACCEPTANCE R2, R25)."""

    Kind = TransactionEventKind

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="transaction_events")
    # The session the event belongs to; empty only if that session was deleted.
    session = models.ForeignKey(
        ChargingSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    transaction_uid = models.CharField("transaction id", max_length=36)
    seq_no = models.BigIntegerField("sequence number")
    kind = models.CharField(max_length=8, choices=TransactionEventKind.choices)
    trigger_reason = models.CharField(max_length=32, blank=True)
    charging_state = models.CharField(max_length=32, blank=True)
    remote_start_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(help_text="Event time as sent by the charger.")
    # The charger reports the event happened while it had no connection to us.
    offline = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    # Whether the event changed the session's current state, or came in older than what was
    # already applied (its meter readings are kept either way).
    applied = models.BooleanField(default=True)
    # What the event was answered (the decision on its token, the total cost), repeated to a
    # resent event.
    answer = models.JSONField(null=True, blank=True)
    payload = models.JSONField(default=dict, help_text="The event as the charger sent it.")

    class Meta:
        ordering = ["charger", "transaction_uid", "seq_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "transaction_uid", "seq_no"], name="transaction_event_once_per_seq_no"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=TransactionEventKind.values), name="transaction_event_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charger_id}: tx {self.transaction_uid} #{self.seq_no} {self.kind}"


class ReservationStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"  # ReserveNow queued or sent
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"  # the charger answered Faulted, Occupied, Rejected or Unavailable
    FAILED = "failed", "Failed"  # the command failed, timed out or expired
    USED = "used", "Used"  # a StartTransaction carried its id
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Reservation(models.Model):
    """A connector (or, with no connector, any connector of the charger) held for an id tag
    until `expires_at` (1.6 sec. 5.13 ReserveNow). Its primary key is the reservationId."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="reservations")
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations",
        help_text="Empty: any connector (connectorId 0).",
    )  # fmt: skip
    id_token = models.ForeignKey(IdToken, on_delete=models.PROTECT, related_name="reservations")
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.REQUESTED)
    charger_answer = models.CharField(max_length=32, blank=True)
    session = models.OneToOneField(
        ChargingSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="reservation"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ReservationStatus.values), name="reservation_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk} on {self.charger_id}"


class LocalListEntry(models.Model):
    """An entry of the local authorization list as the charger holds it (after its last
    accepted SendLocalList): what a differential update is computed against."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="local_list")
    # As long as IdToken's: a 2.0.1 list holds tokens of up to 36 characters (1.6: 20).
    id_tag = models.CharField(max_length=36)
    status = models.CharField(max_length=16)
    expires_at = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=36, blank=True)
    # The token's kind when it was sent: a 2.0.1 station identifies an entry by text and kind.
    kind = models.CharField(max_length=16, choices=IdTokenKind.choices, default=IdTokenKind.ISO14443)
    priority = models.SmallIntegerField(default=0, help_text="The token's charging priority when it was sent.")

    class Meta:
        ordering = ["id_tag"]
        verbose_name_plural = "local list entries"
        constraints = [models.UniqueConstraint(fields=["charger", "id_tag"], name="local_list_entry_unique")]

    def __str__(self) -> str:
        return self.id_tag


class LocalAuthorizationList(Charger):
    """The chargers, seen as holders of a local authorization list (an admin page)."""

    class Meta:
        proxy = True
        verbose_name = "local authorization list"


def validate_periods(periods) -> None:
    """1.6 sec. 7.9/7.10: at least one period, the first starting at 0 (errata 3.45), start
    times increasing, limits positive, numberPhases 1-3."""
    if not isinstance(periods, list) or not periods:
        raise ValidationError("At least one schedule period is needed.")
    previous = -1
    for index, period in enumerate(periods):
        if not isinstance(period, dict) or not {"startPeriod", "limit"} <= set(period):
            raise ValidationError(f"Period {index + 1} needs startPeriod and limit.")
        start, limit = period["startPeriod"], period["limit"]
        if not isinstance(start, int) or start < 0 or (index == 0 and start != 0) or start <= previous:
            raise ValidationError(f"Period {index + 1}: startPeriod must be 0 first, then increasing seconds.")
        if not isinstance(limit, int | float) or limit <= 0:
            raise ValidationError(f"Period {index + 1}: limit must be a positive number.")
        if "numberPhases" in period and period["numberPhases"] not in (1, 2, 3):
            raise ValidationError(f"Period {index + 1}: numberPhases is 1, 2 or 3.")
        if set(period) - {"startPeriod", "limit", "numberPhases"}:
            raise ValidationError(f"Period {index + 1}: only startPeriod, limit and numberPhases.")
        previous = start


class ChargingProfile(models.Model):
    """A 1.6 ChargingProfile (sec. 7.8) an operator defines once and sends to chargers. Its
    primary key is the chargingProfileId."""

    class Purpose(models.TextChoices):
        CHARGE_POINT_MAX = "ChargePointMaxProfile", "Charge point maximum"
        TX_DEFAULT = "TxDefaultProfile", "Default for transactions"
        TX = "TxProfile", "One transaction"

    class Kind(models.TextChoices):
        ABSOLUTE = "Absolute", "Absolute"
        RECURRING = "Recurring", "Recurring"
        RELATIVE = "Relative", "Relative"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="charging_profiles")
    name = models.CharField(max_length=100)
    purpose = models.CharField(max_length=32, choices=Purpose.choices, default=Purpose.TX_DEFAULT)
    stack_level = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ABSOLUTE)
    recurrency = models.CharField(
        max_length=8, choices=[("Daily", "Daily"), ("Weekly", "Weekly")], blank=True, help_text="Recurring only."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    charging_rate_unit = models.CharField(max_length=1, choices=[("W", "W"), ("A", "A")], default="W")
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    start_schedule = models.DateTimeField(null=True, blank=True)
    min_charging_rate = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    periods = models.JSONField(
        default=list,
        help_text='Schedule periods: [{"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400}] '
        "(startPeriod in seconds from the start of the schedule, increasing, the first 0; optional numberPhases).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="charging_profile_name_unique"),
            models.CheckConstraint(
                condition=~models.Q(kind="Recurring") | ~models.Q(recurrency=""), name="charging_profile_recurrency"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def schedule_periods(self) -> tuple[SchedulePeriod, ...]:
        """The stored periods (see `periods`) as the schedule's neutral values."""
        return tuple(
            SchedulePeriod(start=period["startPeriod"], limit=period["limit"], phases=period.get("numberPhases"))
            for period in self.periods
        )


class ChargingProfileAssignment(models.Model):
    """A profile sent to one connector (0 = the whole charger) of one charger, and what
    became of it."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        CLEARED = "cleared", "Cleared"

    profile = models.ForeignKey(ChargingProfile, on_delete=models.PROTECT, related_name="assignments")
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="charging_profiles")
    connector_id = models.PositiveSmallIntegerField(default=0, help_text="0 = the whole charger.")
    transaction_id = models.PositiveIntegerField(null=True, blank=True, help_text="TxProfile only.")
    sent_payload = models.JSONField(default=dict, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.profile} on {self.charger_id}#{self.connector_id}"
