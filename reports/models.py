from django.db import models
from django.utils import timezone

from accounts.models import Organization


class ExportKind(models.TextChoices):
    SESSIONS = "sessions", "Session history"
    MESSAGES = "messages", "OCPP message log"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"
    PDF = "pdf", "PDF"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def export_file_path(export: "ReportExport", filename: str) -> str:
    # Grouped by tenant; files are never served from a media URL, only through the
    # tenant-checked download views, so the name need not be unguessable.
    return f"reports/{export.organization_id}/{filename}"


class ReportExport(models.Model):
    """A report file written by a Celery job (reports.services.run_export): who asked for
    what, how far it got, and the file or the error."""

    Kind = ExportKind
    Format = ExportFormat
    Status = ExportStatus

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="report_exports")
    kind = models.CharField(max_length=32, choices=ExportKind.choices, default=ExportKind.SESSIONS)
    format = models.CharField(
        max_length=8,
        choices=ExportFormat.choices,
        default=ExportFormat.CSV,
        help_text="CSV and JSON hold every matching row; a PDF holds a limited number of rows.",
    )
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the export was asked for: a site, a charger, an id token and a range of days.",
    )
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_written = models.PositiveIntegerField(default=0, help_text="Progress: rows written so far.")
    row_count = models.PositiveIntegerField(null=True, blank=True, help_text="Rows the file will hold.")
    truncated = models.BooleanField(default=False, help_text="More rows matched than a PDF holds.")
    file = models.FileField(upload_to=export_file_path, blank=True, max_length=255)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="report_export_org_created_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_format_display()}) #{self.pk}"

    @property
    def progress(self) -> str:
        if self.row_count is None:
            return f"{self.rows_written}"
        return f"{self.rows_written} / {self.row_count}"

    @property
    def download_name(self) -> str:
        return f"{self.kind}-{self.pk}.{self.format}"


class AlertKind(models.TextChoices):
    CHARGER_OFFLINE = "charger_offline", "Charger offline"
    CHARGER_FAULT = "charger_fault", "Charger fault"
    SESSION_STUCK = "session_stuck", "Session possibly stuck"
    SECURITY_EVENT = "security_event", "Critical security event"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """Something an operator should be told about (issue 19): a charger offline too long, a
    fault, a session that shows nothing, a critical security event. Raised and resolved by
    reports.alerts (on the charger's signals and by the periodic sweep); at most one alert is
    open or acknowledged per `subject`, so a condition that lasts makes one alert, not many."""

    Kind = AlertKind
    State = AlertState

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    # What the alert is about, unique among unresolved alerts: "charger:12", "connector:12:0:1",
    # "session:40", "security_event:9".
    subject = models.CharField(max_length=64, editable=False)
    charger = models.ForeignKey(
        "sites.Charger", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    session = models.ForeignKey(
        "charging.ChargingSession", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    security_event = models.ForeignKey(
        "sites.SecurityEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    summary = models.CharField(max_length=255)
    detail = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Empty with a resolved_at: the condition ended by itself (the charger came back, ...).
    resolved_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    resolution = models.CharField(max_length=255, blank=True)
    # When the subscribed members were emailed (empty: not yet, or nobody subscribed).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=~models.Q(state="resolved"),
                name="alert_one_unresolved_per_subject",
            ),
        ]
        indexes = [models.Index(fields=["organization", "state", "-raised_at"], name="alert_org_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class AlertSubscription(models.Model):
    """Who in an organization is emailed which alerts."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_subscriptions")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="alert_subscriptions")
    kinds = models.JSONField(default=list, blank=True, help_text="Empty: every kind of alert.")

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="alert_subscription_org_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds
