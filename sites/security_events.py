"""Security events, the charger's and ours, in one append-only store (ACCEPTANCE S13).

A charger reports its own (OCPP 1.6 security extension and 2.0.1 SecurityEventNotification,
A04): each is always acknowledged, kept with the charger's time and ours, and one sent again
(same charger, type and time) is merged into its row. The central system raises its own
(failed HTTP Basic logins, refused client certificates, profile downgrades, a charger naming
another's transaction, key rotations) through the same door; those that can come in floods
(failed logins) are merged per charger and address within a window, so a password-guessing
charger makes one row with a count, not a row per attempt.

Which types are critical comes from the security event lists of the 1.6 security whitepaper
(sec. 8) and of 2.0.1 (part 2 appendices; the CSV beside the specs): those "should be pushed"
to the operator, who sees them stand out in the admin. The lists are copied here, not read at
run time, so the system does not depend on the specification files."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from sites.models import Charger, SecurityEvent
from sites.signals import security_events_recorded

logger = logging.getLogger(__name__)

Severity = SecurityEvent.Severity


@dataclass(frozen=True, slots=True)
class EventType:
    description: str
    critical: bool
    # How an operator should read it: routine (a boot), worth a look, or act now.
    severity: str = Severity.WARNING


# The charger's events, as both lists name them (2.0.1 spellings, then the 1.6 ones that differ).
# Critical where either list says so.
CHARGER_EVENT_TYPES: dict[str, EventType] = {
    "FirmwareUpdated": EventType("The firmware was updated", True, Severity.INFO),
    "FailedToAuthenticateAtCsms": EventType("The charger's credentials were rejected by the central system", False),
    "CsmsFailedToAuthenticate": EventType("The central system's credentials were rejected by the charger", False),
    "SettingSystemTime": EventType("The charger's clock was changed", True, Severity.INFO),
    "StartupOfTheDevice": EventType("The charger booted", True, Severity.INFO),
    "ResetOrReboot": EventType("The charger was rebooted or reset", True, Severity.INFO),
    "SecurityLogWasCleared": EventType("The security log was cleared", True, Severity.CRITICAL),
    "ReconfigurationOfSecurityParameters": EventType("Security parameters (keys, security profile) changed", False),
    "MemoryExhaustion": EventType("The charger's memory is getting full", True),
    "InvalidMessages": EventType("The charger received messages that are not valid OCPP", False),
    "AttemptedReplayAttacks": EventType("The charger received a replayed message", False),
    "TamperDetectionActivated": EventType("The tamper detection sensor was triggered", True, Severity.CRITICAL),
    "InvalidFirmwareSignature": EventType("The firmware signature is not valid", True, Severity.CRITICAL),
    "InvalidFirmwareSigningCertificate": EventType(
        "The firmware signing certificate is not valid", True, Severity.CRITICAL
    ),
    "InvalidCsmsCertificate": EventType(
        "The central system's certificate could not be verified", True, Severity.CRITICAL
    ),
    "InvalidChargingStationCertificate": EventType("The certificate sent to the charger is not valid", True),
    "InvalidTLSVersion": EventType("The central system offered a TLS version below 1.2", True),
    "InvalidTLSCipherSuite": EventType("The central system offered only cipher suites not allowed", True),
    "MaintenanceLoginAccepted": EventType("Login to the local maintenance interface", True),
    "MaintenanceLoginFailed": EventType("Failed login to the local maintenance interface", True, Severity.CRITICAL),
    # OCPP 1.6 security whitepaper sec. 8 spellings.
    "FailedToAuthenticationAtCentralSystem": EventType("The charger's credentials were rejected", False),
    "CentralSystemFailedToAuthentication": EventType("The central system's credentials were rejected", False),
    "InvalidCentralSystemCertificate": EventType(
        "The central system's certificate could not be verified", False, Severity.CRITICAL
    ),
    "InvalidChargePointCertificate": EventType("The certificate sent to the charger is not valid", False),
}

# The central system's own events.
FAILED_LOGIN = "InvalidChargerCredentials"
CLIENT_CERTIFICATE_REFUSED = "ClientCertificateRefused"
PROFILE_DOWNGRADE = "SecurityProfileDowngrade"
FOREIGN_TRANSACTION = "ForeignTransactionId"
KEY_ROTATED = "ChargerKeyRotated"
PROFILE_RAISED = "SecurityProfileRaised"
HANDSHAKES_THROTTLED = "HandshakeFailuresThrottled"
CSR_REJECTED = "CertificateSigningRequestRejected"

CSMS_EVENT_TYPES: dict[str, EventType] = {
    FAILED_LOGIN: EventType("A charger's HTTP Basic login failed (wrong id or key)", False),
    CLIENT_CERTIFICATE_REFUSED: EventType("A charger's client certificate was refused", True, Severity.CRITICAL),
    PROFILE_DOWNGRADE: EventType("A charger tried a lower security profile than its own", True, Severity.CRITICAL),
    FOREIGN_TRANSACTION: EventType("A charger named a transaction of another charger", False),
    KEY_ROTATED: EventType("A charger's HTTP Basic key was replaced", False, Severity.INFO),
    PROFILE_RAISED: EventType("A charger now connects with a higher security profile", False, Severity.INFO),
    HANDSHAKES_THROTTLED: EventType("Failed handshakes from one address or id reached their limit", False),
    CSR_REJECTED: EventType("A charger's certificate signing request was rejected", True, Severity.CRITICAL),
}

# Failed logins of one charger from one address within this window make one row.
FAILED_LOGIN_WINDOW = dt.timedelta(minutes=10)


def event_type(kind: str) -> EventType:
    """What is known of a type; an unknown one (a vendor's own) is a warning, not critical."""
    return CHARGER_EVENT_TYPES.get(kind) or CSMS_EVENT_TYPES.get(kind) or EventType("", False)


@dataclass(frozen=True, slots=True)
class ReportedSecurityEvent:
    """A security event as a charger reports it."""

    charger_id: int
    charge_point_id: str
    kind: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    tech_info: str = ""


def record_reported_security_event(event: ReportedSecurityEvent) -> SecurityEvent:
    """Store what a charger reported; the same event sent again (a charger repeats what it
    queued when an answer was lost) is merged into the first row."""
    known = SecurityEvent.objects.filter(
        charger_id=event.charger_id, kind=event.kind, occurred_at=event.occurred_at, source=SecurityEvent.Source.CHARGER
    ).first()
    if known is not None:
        _merge(known, event.received_at)
        return known
    about = event_type(event.kind)
    _log(about, event.kind, event.charge_point_id, event.tech_info)
    created = SecurityEvent.objects.create(
        charger_id=event.charger_id,
        charge_point_id=event.charge_point_id,
        kind=event.kind[:64],
        source=SecurityEvent.Source.CHARGER,
        severity=about.severity,
        critical=about.critical,
        tech_info=event.tech_info,
        occurred_at=event.occurred_at,
        timestamp=event.received_at,
    )
    return _announced(created)


def _announced(event: SecurityEvent) -> SecurityEvent:
    """A new row: told to the other apps (outbound events) once it is committed."""
    transaction.on_commit(lambda: security_events_recorded.send(sender=SecurityEvent, event_ids=[event.pk]))
    return event


def record_security_event(
    *,
    charge_point_id: str,
    kind: str,
    detail: dict,
    charger_id: int | None = None,
    severity: str | None = None,
    merge_on: str | None = None,
    merge_within: dt.timedelta | None = None,
    times: int = 1,
) -> SecurityEvent:
    """Raise one of the central system's own events (severity by its type unless given). With
    `merge_on` (a key of `detail`) and `merge_within`, the same event about the same charger
    and the same `detail[merge_on]` within that window is counted on the earlier row. `times`:
    how many occurrences this one stands for (counted in memory by a throttle)."""
    now = timezone.now()
    if merge_on is not None and merge_within is not None:
        earlier = (
            SecurityEvent.objects.filter(
                charge_point_id=charge_point_id,
                kind=kind,
                source=SecurityEvent.Source.CSMS,
                timestamp__gte=now - merge_within,
                **{f"detail__{merge_on}": detail.get(merge_on)},
            )
            .order_by("-timestamp")
            .first()
        )
        if earlier is not None:
            _merge(earlier, now, times)
            return earlier
    about = event_type(kind)
    chosen = severity or about.severity
    # The type and the charger only: a detail may quote what a client sent.
    logger.warning("security event %s about %s", kind, charge_point_id)
    created = SecurityEvent.objects.create(
        charger_id=charger_id,
        charge_point_id=charge_point_id[:48],
        kind=kind,
        source=SecurityEvent.Source.CSMS,
        severity=chosen,
        critical=about.critical or chosen == Severity.CRITICAL,
        detail=detail,
        occurred_at=now,
        timestamp=now,
        repeats=times,
        last_seen_at=now if times > 1 else None,
    )
    return _announced(created)


def record_failed_login(
    *, charge_point_id: str, charger_id: int | None, address: str, reason: str, attempts: int = 1
) -> SecurityEvent:
    """A charger's HTTP Basic login refused (`attempts` of them): counted per charger and
    address (S13), never with the password tried (S3)."""
    return record_security_event(
        charge_point_id=charge_point_id,
        charger_id=charger_id,
        kind=FAILED_LOGIN,
        detail={"address": address, "reason": reason},
        merge_on="address",
        merge_within=FAILED_LOGIN_WINDOW,
        times=attempts,
    )


def record_key_rotation(*, charger_id: int, how: str, command_id: int | None = None) -> SecurityEvent:
    """A charger's HTTP Basic key replaced by a rotation (never the key itself, S7)."""
    return record_security_event(
        charge_point_id=charge_point_id_of(charger_id),
        charger_id=charger_id,
        kind=KEY_ROTATED,
        detail={"how": how, "command": command_id},
    )


def charge_point_id_of(charger_id: int) -> str:
    """The id an event names its charger by (kept even if the charger is deleted later)."""
    return Charger.objects.filter(pk=charger_id).values_list("charge_point_id", flat=True).first() or ""


def acknowledge_security_events(events: QuerySet[SecurityEvent], *, by: AbstractBaseUser) -> int:
    """An operator has taken note of these events; returns how many were not acknowledged yet.
    Only who and when are written: the event itself stays as it was recorded."""
    return events.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now(), acknowledged_by=by)


def _merge(event: SecurityEvent, seen_at: dt.datetime, times: int = 1) -> None:
    SecurityEvent.objects.filter(pk=event.pk).update(repeats=F("repeats") + times, last_seen_at=seen_at)
    event.refresh_from_db(fields=["repeats", "last_seen_at"])


def _log(about: EventType, kind: str, charge_point_id: str, tech_info: str) -> None:
    level = logging.WARNING if about.critical or about.severity != Severity.INFO else logging.INFO
    logger.log(level, "security event %s reported by %s %s", kind, charge_point_id, tech_info[:200])
