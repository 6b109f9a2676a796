"""The progress of a command's long-running job, as the charger reports it later: a log upload
(LogStatusNotification, N01) or a firmware update (FirmwareStatusNotification,
SignedFirmwareStatusNotification, L01), and what a station reports in parts in answer to a
request (NotifyCustomerInformation N09, ReportChargingProfiles K09). Whatever the protocol
version, a report is one neutral ChargerReport row, linked to the command that started the job
by the request id the charger repeats (N01.FR.07, L01.FR.10) and the command keeps
(`Command.request_id`), so the admin and the API show the job's latest status on the command
and on the charger.

Firmware signature and certificate failures are security events for operators, raised here from
what the charger said: its own SecurityEventNotification about them (L01.FR.02/03) may be
missing (a 2.0.1 station reports InvalidSignature in its firmware status alone) or lost."""

import datetime as dt

from django.db import transaction

from sites.commands.intents import (
    CustomerInformation,
    GetChargingProfiles,
    GetDiagnostics,
    GetLog,
    Intent,
    UpdateFirmware,
)
from sites.commands.outcomes import Outcome
from sites.models import Charger, ChargerReport, Command, CommandStatus, SecurityEvent
from sites.security_events import charge_point_id_of, record_security_event
from sites.services import record_charger_report

# Which commands a report kind can be about: the intent kinds that start that job.
JOB_INTENTS: dict[str, tuple[str, ...]] = {
    ChargerReport.Kind.LOG: (GetLog.kind, GetDiagnostics.kind),  # 2.0.1 GetDiagnostics is a GetLog
    ChargerReport.Kind.DIAGNOSTICS: (GetDiagnostics.kind,),
    ChargerReport.Kind.FIRMWARE: (UpdateFirmware.kind,),
    # What a station reports in parts in answer to a request of ours (2.0.1 N09, K09).
    ChargerReport.Kind.CUSTOMER_INFORMATION: (CustomerInformation.kind,),
    ChargerReport.Kind.CHARGING_PROFILES: (GetChargingProfiles.kind,),
}

# The status of "no job going on" (FirmwareStatus, DiagnosticsStatus, UploadLogStatus): about no command.
IDLE = "Idle"

# FirmwareStatusEnumType (1.6 security extension sec. 6.6, 2.0.1 part 2): the firmware failed its
# signature check (L01.FR.03). Critical: the firmware offered to the charger was not ours, or was
# altered on the way.
INVALID_FIRMWARE_STATUSES = {"InvalidSignature": "InvalidFirmwareSignature"}
# UpdateFirmwareStatusEnumType: the charger refused the signing certificate we sent (L01.FR.24/25).
REFUSED_CERTIFICATE_STATUSES = {
    "InvalidCertificate": "InvalidFirmwareSigningCertificate",
    "RevokedCertificate": "RevokedFirmwareSigningCertificate",
}


def command_of_job(*, charger_id: int, kind: str, request_id: int | None) -> Command | None:
    """The charger's command with this request id that starts jobs of `kind`; the newest one if
    (after the charger's id space wrapped, say) several do."""
    intents = JOB_INTENTS.get(kind)
    if request_id is None or not intents:
        return None
    return (
        Command.objects.filter(charger_id=charger_id, request_id=request_id, intent__in=intents)
        .order_by("-created_at", "-id")
        .first()
    )


def newest_job_command(*, charger_id: int, kind: str) -> Command | None:
    """The charger's newest accepted command that started a job of `kind`: what a notification
    naming no request is about where the charger runs one such job at a time (OCPP 1.6's core
    FirmwareStatusNotification and DiagnosticsStatusNotification carry no request id)."""
    intents = JOB_INTENTS.get(kind)
    if not intents:
        return None
    accepted = Command.objects.filter(charger_id=charger_id, intent__in=intents, status=CommandStatus.ACCEPTED)
    return accepted.order_by("-sent_at", "-id").first()


@transaction.atomic
def record_job_status(
    *,
    charger_id: int,
    kind: str,
    status: str,
    received_at: dt.datetime,
    request_id: int | None = None,
    detail: dict | None = None,
    newest_when_unnamed: bool = False,
) -> ChargerReport:
    """Store a job status notification, linked to its command (by its request id; with
    `newest_when_unnamed`, a notification naming none to the newest accepted command of its kind,
    unless it says the charger is idle); a firmware status saying the signature is invalid also
    raises a critical security event."""
    command = command_of_job(charger_id=charger_id, kind=kind, request_id=request_id)
    if command is None and request_id is None and newest_when_unnamed and status != IDLE:
        command = newest_job_command(charger_id=charger_id, kind=kind)
    report = record_charger_report(
        charger_id=charger_id,
        kind=kind,
        status=status,
        received_at=received_at,
        request_id=request_id,
        detail=detail,
        command=command,
    )
    if kind == ChargerReport.Kind.FIRMWARE and status in INVALID_FIRMWARE_STATUSES:
        event = INVALID_FIRMWARE_STATUSES[status]
        _raise_firmware_event(charger_id, event, status, request_id, command, source="firmware status")
    return report


def record_command_refusal(command: Command, intent: Intent, outcome: Outcome) -> None:
    """Called by the port as a command settles: a signed firmware update refused because of its
    signing certificate (L01.FR.24/25) is a security event (a wrong or revoked certificate was
    sent, or the charger's trust store is not what we think)."""
    word = outcome.detail.split(":", 1)[0].strip()
    if isinstance(intent, UpdateFirmware) and word in REFUSED_CERTIFICATE_STATUSES:
        event = REFUSED_CERTIFICATE_STATUSES[word]
        _raise_firmware_event(command.charger_id, event, word, command.request_id, command, source="command answer")


def _raise_firmware_event(
    charger_id: int, event: str, status: str, request_id: int | None, command: Command | None, *, source: str
) -> None:
    """Raised by the CSMS from what the charger said (`source`), beside any SecurityEventNotification
    of the same type the charger sends itself (L01.FR.02/03)."""
    charge_point_id = charge_point_id_of(charger_id)
    detail = {"status": status, "request_id": request_id, "command": command.pk if command else None, "source": source}
    record_security_event(
        charger_id=charger_id,
        charge_point_id=charge_point_id,
        kind=event,
        severity=SecurityEvent.Severity.CRITICAL,
        detail=detail,
    )


def latest_job_status(command: Command) -> ChargerReport | None:
    """The latest status the charger reported about the command's job (None: none yet)."""
    if command.request_id is None:
        return None
    return command.progress_reports.order_by("-received_at", "-id").first()


# The jobs whose latest status a charger's page and API show.
JOB_KINDS = (ChargerReport.Kind.FIRMWARE, ChargerReport.Kind.LOG, ChargerReport.Kind.DIAGNOSTICS)


def latest_job_statuses(charger: Charger) -> dict[str, ChargerReport]:
    """Per job kind (firmware, log upload, 1.6 diagnostics), the charger's latest report."""
    latest: dict[str, ChargerReport] = {}
    for kind in JOB_KINDS:
        report = charger.reports.filter(kind=kind).order_by("-received_at", "-id").select_related("command").first()
        if report is not None:
            latest[kind] = report
    return latest


def job_status_fields(report: ChargerReport | None) -> dict | None:
    """A report as the API shows it (on a command, on a charger)."""
    if report is None:
        return None
    return {
        "kind": report.kind,
        "status": report.status,
        "request_id": report.request_id,
        "command": report.command_id,
        "received_at": report.received_at.isoformat(),
    }
