from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from accounts.models import Organization
from accounts.roles import COMMAND_INTENTS
from sites.validators import validate_charge_point_id, validate_timezone

# What an operator edits of a site: the admin form, and the columns of a site import/export.
SITE_FIELDS = ["organization", "name", "address", "city", "postal_code", "country", "latitude", "longitude", "timezone"]


class Site(models.Model):
    """A physical location with chargers; times are shown in its own time zone."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. DE.")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(default=now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="site_name_unique_per_org"),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="site_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="site_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OcppVersion(models.TextChoices):
    V16 = "1.6", "OCPP 1.6J"
    V201 = "2.0.1", "OCPP 2.0.1"


class RegistrationStatus(models.TextChoices):
    """What the CSMS answers to BootNotification (1.6 sec. 7.45 RegistrationStatus)."""

    ACCEPTED = "Accepted", "Accepted"
    PENDING = "Pending", "Pending"
    REJECTED = "Rejected", "Rejected"


class SecurityProfile(models.IntegerChoices):
    """OCPP 1.6 security whitepaper sec. 2: profiles 1-3; 0 = no authentication (lab use only)."""

    NONE = 0, "0 - no authentication"
    BASIC = 1, "1 - HTTP Basic, unsecured transport"
    TLS_BASIC = 2, "2 - TLS with HTTP Basic"
    TLS_CLIENT_CERT = 3, "3 - TLS with client certificate"


class Charger(models.Model):
    """A charging station, identified by the charge point id in its connection URL."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="chargers")
    charge_point_id = models.CharField("charger id", max_length=48, unique=True, validators=[validate_charge_point_id])
    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    serial_number = models.CharField(max_length=50, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    # The version negotiated at the charger's last handshake (recorded on connect).
    ocpp_version = models.CharField("OCPP version", max_length=8, choices=OcppVersion.choices, default=OcppVersion.V16)
    preferred_ocpp_version = models.CharField(
        "preferred OCPP version",
        max_length=8,
        choices=OcppVersion.choices,
        blank=True,
        help_text="When the charger offers both versions, it gets this one. Blank: the central system's "
        "preferred version.",
    )
    # What the charger last said about itself in BootNotification (2.0.1 B01; 1.6 sec. 4.2).
    boot_reason = models.CharField(max_length=32, blank=True, editable=False)
    iccid = models.CharField("ICCID", max_length=20, blank=True, editable=False)
    imsi = models.CharField("IMSI", max_length=20, blank=True, editable=False)
    registration_status = models.CharField(
        max_length=16,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.ACCEPTED,
        help_text="Answer given to the charger's BootNotification.",
    )
    security_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices, default=SecurityProfile.BASIC)
    # The higher profile the charger accepted to move to (whitepaper A05): both are let in until
    # it connects with this one, which then becomes `security_profile` (A05.FR.08/09).
    security_profile_target = models.PositiveSmallIntegerField(
        "raising to security profile", choices=SecurityProfile.choices, null=True, blank=True, editable=False
    )
    # Salted fast hash of the HTTP Basic key (see sites.credentials); never the key itself.
    auth_key_hash = models.CharField(max_length=128, blank=True, editable=False)
    # A new key sent with ChangeConfiguration(AuthorizationKey), not yet confirmed (S7).
    pending_auth_key_hash = models.CharField(max_length=128, blank=True, editable=False)
    # Version of the local authorization list the charger last confirmed (SendLocalList
    # accepted, or reported by GetLocalListVersion); 0 = none, -1 = not supported.
    local_list_version = models.IntegerField(default=0, editable=False)
    heartbeat_interval = models.PositiveIntegerField(
        default=300, help_text="Seconds; sent to the charger in the BootNotification answer."
    )
    # Status of the charger as a whole (StatusNotification with connectorId 0).
    status = models.CharField(max_length=16, default="Unknown")
    error_code = models.CharField(max_length=32, default="NoError")
    status_timestamp = models.DateTimeField(null=True, blank=True)
    # The live connection: which socket (and which process's channel) holds this charger.
    # A newer socket replaces these; an older socket's disconnect only clears them if they
    # are still its own (R15).
    connection_id = models.UUIDField(null=True, blank=True, editable=False)
    channel_name = models.CharField(max_length=200, blank=True, editable=False)
    connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_online = models.BooleanField(default=False, editable=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_boot_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    # Operators' changes only: secrets and the live state the gateway keeps are left out.
    history = HistoricalRecords(
        excluded_fields=[
            "auth_key_hash", "pending_auth_key_hash", "status", "error_code", "status_timestamp",
            "connection_id", "channel_name", "connected_at", "is_online", "last_heartbeat_at",
            "last_seen_at", "last_boot_at", "local_list_version", "boot_reason", "iccid", "imsi",
        ]
    )  # fmt: skip

    class Meta:
        ordering = ["charge_point_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(security_profile__lte=3), name="charger_security_profile_valid"),
            models.CheckConstraint(
                condition=models.Q(registration_status__in=RegistrationStatus.values),
                name="charger_registration_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(ocpp_version__in=OcppVersion.values), name="charger_ocpp_version_valid"
            ),
        ]
        indexes = [models.Index(fields=["is_online", "last_seen_at"], name="charger_online_seen_idx")]
        # One permission per intent kind (S16), on the charger it is sent to, so that it can
        # also be granted per charger (django-guardian, shares with partners).
        permissions = [(f"send_{kind}", f"Can send {kind.replace('_', ' ')}") for kind in COMMAND_INTENTS] + [
            ("issue_charger_key", "Can issue a new HTTP Basic key")
        ]

    def __str__(self) -> str:
        return self.charge_point_id

    @property
    def organization(self) -> Organization:
        return self.site.organization

    @property
    def has_auth_key(self) -> bool:
        return bool(self.auth_key_hash)


class ConnectorStatus(models.TextChoices):
    """1.6 ChargePointStatus (sec. 7.7) and 2.0.1 ConnectorStatusEnumType together."""

    AVAILABLE = "Available", "Available"
    PREPARING = "Preparing", "Preparing"
    CHARGING = "Charging", "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE", "Suspended by EVSE"
    SUSPENDED_EV = "SuspendedEV", "Suspended by EV"
    FINISHING = "Finishing", "Finishing"
    RESERVED = "Reserved", "Reserved"
    UNAVAILABLE = "Unavailable", "Unavailable"
    FAULTED = "Faulted", "Faulted"
    OCCUPIED = "Occupied", "Occupied"
    UNKNOWN = "Unknown", "Unknown"


class Connector(models.Model):
    """A connector of a charger. In 1.6 connector ids count from 1 per charger; in 2.0.1
    they count from 1 per EVSE, so the EVSE id is part of the identity there."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    evse_id = models.PositiveSmallIntegerField(
        "EVSE id", null=True, blank=True, validators=[MinValueValidator(1)], help_text="OCPP 2.0.1 only."
    )
    status = models.CharField(max_length=16, choices=ConnectorStatus.choices, default=ConnectorStatus.UNKNOWN)
    error_code = models.CharField(max_length=32, default="NoError")
    info = models.CharField(max_length=50, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    # The charger's own timestamp of the status now in force (the latest one wins, R23).
    status_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charger", "evse_id", "connector_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(connector_id__gte=1), name="connector_id_positive"),
            models.UniqueConstraint(
                fields=["charger", "connector_id"],
                condition=models.Q(evse_id__isnull=True),
                name="connector_unique_per_charger",
            ),
            models.UniqueConstraint(
                fields=["charger", "evse_id", "connector_id"],
                condition=models.Q(evse_id__isnull=False),
                name="connector_unique_per_evse",
            ),
        ]

    def __str__(self) -> str:
        prefix = f"EVSE {self.evse_id} / " if self.evse_id else ""
        return f"{self.charger.charge_point_id} {prefix}#{self.connector_id}"


class StatusNotificationRecord(models.Model):
    """Every StatusNotification as received; the current state lives on Connector/Charger (R23)."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="status_history")
    evse_id = models.PositiveSmallIntegerField("EVSE id", null=True, blank=True, help_text="OCPP 2.0.1 only.")
    connector_id = models.PositiveSmallIntegerField(help_text="0 = the charger as a whole.")
    status = models.CharField(max_length=16)
    error_code = models.CharField(max_length=32)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    timestamp = models.DateTimeField(help_text="As sent by the charger (receipt time when it sent none).")
    received_at = models.DateTimeField(default=now)
    applied = models.BooleanField(default=True, help_text="False when a newer status was already in force.")

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "status notification"
        indexes = [models.Index(fields=["charger", "-timestamp"], name="statusrec_charger_ts_idx")]

    def __str__(self) -> str:
        return f"{self.charger_id}#{self.connector_id} {self.status}"


class ConnectionEvent(models.Model):
    """The charger went online or offline (issue 6): one row per change of `Charger.is_online`,
    written by the services that change it, so uptime can be computed from the intervals."""

    class Kind(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connection_events")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=32, help_text="connected, seen again, disconnected, offline sweep")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "online/offline event"
        indexes = [models.Index(fields=["charger", "at"], name="connevent_charger_at_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["online", "offline"]), name="connevent_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.charger_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class ChargerReport(models.Model):
    """Status notifications about a charger's long-running jobs (firmware, diagnostics, log
    upload) and the rarer 2.0.1 notifications kept as they came (customer information, charging
    limits, charging-profile reports), as a history per charger."""

    class Kind(models.TextChoices):
        FIRMWARE = "firmware", "Firmware"
        DIAGNOSTICS = "diagnostics", "Diagnostics"
        LOG = "log", "Log upload"  # 2.0.1 LogStatusNotification (N01)
        CUSTOMER_INFORMATION = "customer_info", "Customer information"  # NotifyCustomerInformation (N09)
        CHARGING_LIMIT = "charging_limit", "Charging limit"  # NotifyChargingLimit / ClearedChargingLimit (K11-K13)
        CHARGING_PROFILES = "charging_profiles", "Charging profiles"  # ReportChargingProfiles (K09)

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=32)
    # 2.0.1: the requestId of the request it answers (L01.FR.10, N01.FR.07, K09.FR.01, N09).
    request_id = models.IntegerField("request id", null=True, blank=True)
    # The command that started the job this reports on, found by its request id (N01.FR.07,
    # L01.FR.10); None when the charger named none or no command of its has that id.
    command = models.ForeignKey(
        "Command", on_delete=models.SET_NULL, null=True, blank=True, related_name="progress_reports"
    )
    # What else the message said, as sent (e.g. a charging limit's schedules, customer data).
    detail = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "charger report"
        verbose_name_plural = "firmware / log / other reports"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.status}"


class UnknownChargerState(models.TextChoices):
    NEW = "new", "New"
    ADOPTED = "adopted", "Adopted"
    DISMISSED = "dismissed", "Dismissed"


class UnknownCharger(models.Model):
    """Inbox of connection attempts by charge point ids we do not know (S1). One row per id,
    with a counter, so a flood of attempts cannot grow the table without bound."""

    charge_point_id = models.CharField("charger id", max_length=48, unique=True)
    state = models.CharField(max_length=16, choices=UnknownChargerState.choices, default=UnknownChargerState.NEW)
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=now)
    last_seen_at = models.DateTimeField(default=now)
    remote_address = models.CharField(max_length=64, blank=True)
    subprotocols = models.CharField(max_length=200, blank=True)
    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    serial_number = models.CharField(max_length=50, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    adopted_charger = models.OneToOneField(
        Charger, on_delete=models.SET_NULL, null=True, blank=True, related_name="adopted_from"
    )

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = "unknown charger"

    def __str__(self) -> str:
        return self.charge_point_id


class SecurityEvent(models.Model):
    """Security-relevant events about a charger, in one append-only store (ACCEPTANCE S13):
    reported by the charger (SecurityEventNotification) or raised by the central system itself
    (failed logins, refused certificates, profile downgrades, foreign transactions, key
    rotations). An event reported or raised again is merged into its row (`repeats`)."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Source(models.TextChoices):
        CHARGER = "charger", "Reported by the charger"
        CSMS = "csms", "Raised by the central system"

    charger = models.ForeignKey(
        Charger, on_delete=models.CASCADE, null=True, blank=True, related_name="security_events"
    )
    charge_point_id = models.CharField("charger id", max_length=48, db_index=True)
    kind = models.CharField("type", max_length=64)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CSMS)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    # The security event list marks these to be pushed to the operator (whitepaper sec. 8,
    # 2.0.1 appendices "Security events").
    critical = models.BooleanField(default=False, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    tech_info = models.TextField("technical information", blank=True)
    # When it happened by the charger's clock (reported events); ours is `timestamp`.
    occurred_at = models.DateTimeField(null=True, blank=True)
    timestamp = models.DateTimeField("recorded at", default=now)
    repeats = models.PositiveIntegerField(default=1, help_text="How many times it was reported or raised.")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # An operator took note of it: a critical event stays raised until then. Who and when, not a
    # change of the event (the store stays append-only).
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["charger", "kind", "occurred_at"], name="security_event_dedup_idx")]
        permissions = [("acknowledge_securityevent", "Can acknowledge security events")]

    def __str__(self) -> str:
        return f"{self.charge_point_id}: {self.kind}"


class ChargerCertificate(models.Model):
    """A certificate of a charger's inventory (1.6 whitepaper A02/A03, M03-M05; 2.0.1 the
    same): the one we signed for it, the roots we installed on it, and what it reported in
    GetInstalledCertificateIds. Only public material: a private key never reaches the database."""

    class Use(models.TextChoices):
        # sites.commands.intents.CertificateUse's words.
        CHARGER = "charger", "Charger certificate"
        V2G = "v2g", "V2G certificate"
        CSMS_ROOT = "csms_root", "Central system root"
        MANUFACTURER_ROOT = "manufacturer_root", "Manufacturer root"
        V2G_ROOT = "v2g_root", "V2G root"
        MO_ROOT = "mo_root", "Mobility operator root"
        V2G_CHAIN = "v2g_chain", "V2G certificate chain"

    class Source(models.TextChoices):
        ISSUED = "issued", "Issued by us"
        INSTALLED = "installed", "Installed by us"
        REPORTED = "reported", "Reported by the charger"

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="certificates")
    use = models.CharField(max_length=24, choices=Use.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    subject = models.CharField(max_length=500, blank=True)
    issuer = models.CharField(max_length=500, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True, db_index=True)
    fingerprint_sha256 = models.CharField("SHA-256 fingerprint", max_length=64, blank=True)
    # CertificateHashDataType (whitepaper sec. 6.3, 2.0.1 2.6), how the charger names it.
    hash_algorithm = models.CharField(max_length=8, default="SHA256")
    issuer_name_hash = models.CharField(max_length=128)
    issuer_key_hash = models.CharField(max_length=128)
    serial_number = models.CharField(max_length=40)
    certificate_pem = models.TextField("certificate (PEM)", blank=True)
    # When a renewal was triggered for it (once per certificate).
    renewal_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["charger", "use", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_use_display()} {self.serial_number}"


class CommandStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    EXPIRED = "expired", "Expired"


class CommandBatch(models.Model):
    """One intent sent to many chargers of an organization (issue 20: "broadcast"): the chargers
    chosen when it was asked, the Command rows it queued (a few at a time, so that a batch of
    thousands never crowds the chargers' own traffic: sites.commands.batches) and those it could
    not queue, with why."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Queuing commands"
        DONE = "done", "All commands queued"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="command_batches")
    intent = models.CharField(max_length=32)
    fields = models.JSONField(default=dict, blank=True)
    # How the chargers were chosen (site, charge point ids, online only), as asked.
    selection = models.JSONField(default=dict, blank=True)
    charger_ids = models.JSONField(default=list, blank=True, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    queued_count = models.PositiveIntegerField(default=0, help_text="Commands queued so far.")
    # [{"charge_point_id": ..., "reason": ...}]: chargers this intent does not suit (checked per charger).
    refused = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_via = models.CharField(max_length=16, default="admin")
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "command batch"
        verbose_name_plural = "command batches"

    def __str__(self) -> str:
        return f"{self.intent} to {len(self.charger_ids)} chargers (#{self.pk})"

    @property
    def total(self) -> int:
        return len(self.charger_ids)


class Command(models.Model):
    """A CALL the central system sends a charger, durable: it waits in the queue while the
    charger is offline and is delivered in order when it returns (R16)."""

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        SYSTEM = "system", "System"

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="commands")
    # What was asked, version-neutral (sites.commands.intents): the intent's kind and fields.
    intent = models.CharField(max_length=32, default="raw")
    fields = models.JSONField(default=dict, blank=True)
    # The wire form actually sent, secrets masked: filled when the command is claimed for
    # sending (at once for a raw call), for the admin, the API and the message log.
    action = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_via = models.CharField(max_length=16, choices=Via.choices, default=Via.SYSTEM)
    idempotency_key = models.CharField(max_length=100, blank=True)
    batch = models.ForeignKey(
        CommandBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="commands", editable=False
    )
    status = models.CharField(max_length=16, choices=CommandStatus.choices, default=CommandStatus.QUEUED)
    # The request id the charger's later notifications about this command's job name (log
    # uploads N01.FR.07, firmware updates L01.FR.10); None for commands without such a job.
    request_id = models.IntegerField("request id", null=True, blank=True)
    message_id = models.CharField(max_length=36, blank=True, help_text="OCPP message id of the CALL.")
    # A secret the payload needs (a new AuthorizationKey), encrypted; the payload holds a mask.
    sealed_secret = models.TextField(blank=True, editable=False)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_description = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A timed-out retryable command waits in the queue until then (backoff).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="command_idempotency_key_unique_per_charger",
            ),
            models.CheckConstraint(condition=models.Q(status__in=CommandStatus.values), name="command_status_valid"),
        ]
        indexes = [
            models.Index(fields=["charger", "status", "created_at"], name="command_queue_idx"),
            models.Index(fields=["charger", "request_id"], name="command_request_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action or self.intent} to {self.charger_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (CommandStatus.QUEUED, CommandStatus.SENT)


class ConfigurationKey(models.Model):
    """The charger's configuration as it last reported it (GetConfiguration), kept current by
    accepted ChangeConfiguration commands. Editing a value in the admin sends the change."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="configuration")
    # 1.6: a configuration key (CiString50); 2.0.1: "Component.Variable[.Instance]" (3 x string[50]).
    key = models.CharField(max_length=160)
    value = models.CharField(max_length=500, blank=True)
    readonly = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["key"]
        verbose_name = "configuration key"
        constraints = [models.UniqueConstraint(fields=["charger", "key"], name="configuration_key_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ChargerShare(models.Model):
    """A charger an operator shares with a partner organization: its partners may see it and
    its sessions and start or stop charging on it (through django-guardian object permissions
    granted to the partner organization's group; this row is the record of the grant)."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="shares")
    partner = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="shared_chargers")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["charger", "partner"], name="charger_share_unique")]

    def __str__(self) -> str:
        return f"{self.charger} shared with {self.partner}"


# The 2.0.1 device model (sites.device_model): its models are part of this app.
from sites.device_model.models import (  # noqa: E402, F401
    DeviceEvent,
    DeviceReport,
    DeviceVariable,
    VariableMonitor,
)
