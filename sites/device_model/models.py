"""Device-model rows. Component and variable identities follow 2.0.1 ComponentType/VariableType
(part 2, 2.16 and 2.51): name (50), optional instance (50), optional EVSE and connector.

An absent instance, EVSE or connector is stored as "" / 0 (never NULL) so that the identity can
be a plain unique constraint on every database: 2.0.1 numbers EVSEs and connectors from 1
(EVSEType: "a number (> 0) designating an EVSE"), so 0 is free to mean "none"."""

from django.db import models
from django.utils.timezone import now


class AttributeType(models.TextChoices):
    """AttributeEnumType: which value of a variable an attribute holds."""

    ACTUAL = "Actual", "Actual"
    TARGET = "Target", "Target"
    MIN_SET = "MinSet", "MinSet"
    MAX_SET = "MaxSet", "MaxSet"


class Mutability(models.TextChoices):
    """MutabilityEnumType (default ReadWrite)."""

    READ_ONLY = "ReadOnly", "Read-only"
    WRITE_ONLY = "WriteOnly", "Write-only"
    READ_WRITE = "ReadWrite", "Read-write"


class MonitorType(models.TextChoices):
    """MonitorEnumType."""

    UPPER_THRESHOLD = "UpperThreshold", "Upper threshold"
    LOWER_THRESHOLD = "LowerThreshold", "Lower threshold"
    DELTA = "Delta", "Delta"
    PERIODIC = "Periodic", "Periodic"
    PERIODIC_CLOCK_ALIGNED = "PeriodicClockAligned", "Periodic, clock-aligned"


class ComponentVariable(models.Model):
    """The identity of a variable of a component, shared by the device-model rows."""

    component_name = models.CharField("component", max_length=50)
    component_instance = models.CharField(max_length=50, blank=True, default="")
    evse_id = models.PositiveSmallIntegerField("EVSE id", default=0, help_text="0: not of an EVSE.")
    connector_id = models.PositiveSmallIntegerField(default=0, help_text="0: not of a connector.")
    variable_name = models.CharField("variable", max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        abstract = True

    @property
    def component_label(self) -> str:
        label = self.component_name + (f"[{self.component_instance}]" if self.component_instance else "")
        if self.evse_id:
            label += f" (EVSE {self.evse_id}" + (f", connector {self.connector_id})" if self.connector_id else ")")
        return label

    @property
    def variable_label(self) -> str:
        return self.variable_name + (f"[{self.variable_instance}]" if self.variable_instance else "")


IDENTITY = [
    "charger", "component_name", "component_instance", "evse_id", "connector_id", "variable_name", "variable_instance",
]  # fmt: skip


class DeviceReport(models.Model):
    """One report a station sent in parts (seqNo 0, 1, ...; tbc = "to be continued" on every part
    but the last): NotifyReport for GetBaseReport/GetReport (B07.FR.03, B08.FR.03) or
    NotifyMonitoringReport for GetMonitoringReport (N02.FR.03). Part 0 starts a new report; the
    other parts join the latest report of the same requestId (B07.FR.04, B08.FR.04, N02.FR.04)."""

    class Kind(models.TextChoices):
        VARIABLES = "variables", "Variables (NotifyReport)"
        MONITORS = "monitors", "Monitors (NotifyMonitoringReport)"

    charger = models.ForeignKey("sites.Charger", on_delete=models.CASCADE, related_name="device_reports")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VARIABLES)
    request_id = models.IntegerField("request id")
    generated_at = models.DateTimeField(help_text="generatedAt of the first part received (the station's clock).")
    received_at = models.DateTimeField(default=now, help_text="When its first part arrived.")
    last_part_at = models.DateTimeField(default=now, help_text="When its latest part arrived.")
    parts_received = models.PositiveIntegerField(default=0)
    last_seq_no = models.IntegerField(default=-1)
    items = models.PositiveIntegerField(default=0, help_text="Variable attributes (or monitors) reported.")
    complete = models.BooleanField(default=False, help_text="The part with tbc false arrived.")
    full = models.BooleanField(
        default=False,
        help_text="Answer to a request for everything (FullInventory, or all monitors): once complete, what it "
        "did not report is marked stale.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "device-model report"
        indexes = [models.Index(fields=["charger", "kind", "request_id"], name="devreport_request_idx")]

    def __str__(self) -> str:
        state = "complete" if self.complete else "incomplete"
        return f"report {self.request_id} of {self.generated_at:%Y-%m-%d %H:%M:%S}, {state}"


class DeviceVariable(ComponentVariable):
    """One attribute (Actual, Target, MinSet, MaxSet) of one variable of one component of a
    station, as last reported, with the variable's characteristics (VariableCharacteristicsType)."""

    charger = models.ForeignKey("sites.Charger", on_delete=models.CASCADE, related_name="device_variables")
    attribute_type = models.CharField(max_length=8, choices=AttributeType.choices, default=AttributeType.ACTUAL)
    # NULL: the attribute exists but has no value (B07.FR.11 reports unset attributes too), or
    # is write-only (a station does not report a WriteOnly value).
    value = models.CharField(max_length=2500, null=True, blank=True)
    mutability = models.CharField(max_length=10, choices=Mutability.choices, default=Mutability.READ_WRITE)
    persistent = models.BooleanField(default=False)
    constant = models.BooleanField(default=False)
    # Characteristics: absent from a report without them (a later report keeps the earlier ones).
    unit = models.CharField(max_length=16, blank=True)
    data_type = models.CharField(max_length=16, blank=True)
    min_limit = models.FloatField(null=True, blank=True)
    max_limit = models.FloatField(null=True, blank=True)
    values_list = models.CharField(max_length=1000, blank=True)
    supports_monitoring = models.BooleanField(null=True, blank=True)
    report = models.ForeignKey(
        DeviceReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The report that last included it.",
    )  # fmt: skip
    reported_at = models.DateTimeField(help_text="generatedAt of the report part (the station's clock).")
    received_at = models.DateTimeField(default=now)
    stale = models.BooleanField(default=False, help_text="Left out of a later complete full report.")

    class Meta:
        ordering = ["charger", "component_name", "component_instance", "evse_id", "connector_id", "variable_name",
                    "variable_instance", "attribute_type"]  # fmt: skip
        verbose_name = "device-model variable"
        constraints = [
            models.UniqueConstraint(fields=[*IDENTITY, "attribute_type"], name="device_variable_unique"),
            models.CheckConstraint(
                condition=models.Q(attribute_type__in=AttributeType.values), name="device_variable_attribute_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_label}.{self.variable_label} ({self.attribute_type})"


class VariableMonitor(ComponentVariable):
    """A monitor the station reported (VariableMonitoringType), unique by the station's id."""

    charger = models.ForeignKey("sites.Charger", on_delete=models.CASCADE, related_name="variable_monitors")
    monitor_id = models.IntegerField("monitor id")
    monitor_type = models.CharField("type", max_length=24, choices=MonitorType.choices)
    severity = models.PositiveSmallIntegerField(help_text="0 (Danger) .. 9 (Debug).")
    value = models.FloatField()
    transaction = models.BooleanField(help_text="Only active while a transaction is ongoing.")
    report = models.ForeignKey(DeviceReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reported_at = models.DateTimeField()
    received_at = models.DateTimeField(default=now)
    stale = models.BooleanField(default=False, help_text="Left out of a later complete report of all monitors.")

    class Meta:
        ordering = ["charger", "component_name", "variable_name", "monitor_id"]
        verbose_name = "variable monitor"
        constraints = [models.UniqueConstraint(fields=["charger", "monitor_id"], name="variable_monitor_unique")]

    def __str__(self) -> str:
        return f"monitor {self.monitor_id}: {self.component_label}.{self.variable_label} {self.monitor_type}"


class DeviceEvent(ComponentVariable):
    """One eventData of a NotifyEvent (N07 monitoring events, N08 periodic events, hard-wired
    notifications). Append-only; a retransmitted event (same eventId and timestamp) is kept once."""

    class Trigger(models.TextChoices):
        ALERTING = "Alerting", "Alerting"
        DELTA = "Delta", "Delta"
        PERIODIC = "Periodic", "Periodic"

    class NotificationType(models.TextChoices):
        HARD_WIRED_NOTIFICATION = "HardWiredNotification", "Hard-wired notification"
        HARD_WIRED_MONITOR = "HardWiredMonitor", "Hard-wired monitor"
        PRECONFIGURED_MONITOR = "PreconfiguredMonitor", "Preconfigured monitor"
        CUSTOM_MONITOR = "CustomMonitor", "Custom monitor"

    charger = models.ForeignKey("sites.Charger", on_delete=models.CASCADE, related_name="device_events")
    event_id = models.IntegerField("event id")
    timestamp = models.DateTimeField(help_text="When it happened (the station's clock).")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    cause = models.IntegerField(null=True, blank=True, help_text="The eventId of the event that caused it.")
    actual_value = models.CharField(max_length=2500, blank=True)
    tech_code = models.CharField(max_length=50, blank=True)
    tech_info = models.CharField(max_length=500, blank=True)
    cleared = models.BooleanField(null=True, blank=True)
    transaction_id = models.CharField(max_length=36, blank=True)
    variable_monitoring_id = models.IntegerField(null=True, blank=True)
    notification_type = models.CharField(max_length=24, choices=NotificationType.choices)
    generated_at = models.DateTimeField(help_text="generatedAt of the NotifyEvent that carried it.")
    received_at = models.DateTimeField(default=now)
    problem = models.BooleanField(default=False, help_text="Raised to operators as a problem (see services).")

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "device event"
        constraints = [
            models.UniqueConstraint(fields=["charger", "event_id", "timestamp"], name="device_event_unique"),
        ]
        indexes = [
            models.Index(fields=["charger", "-timestamp"], name="devevent_charger_ts_idx"),
            models.Index(fields=["problem", "-timestamp"], name="devevent_problem_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.component_label}.{self.variable_label} = {self.actual_value}"
