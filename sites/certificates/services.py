"""Certificate management of a charger, version-neutral (1.6 security whitepaper A02/A03 and
M03-M05; 2.0.1 the same use cases): a CSR answered, signed after the answer and sent back
through the command queue; the inventory kept from what we issue and install and what the
charger reports; renewal asked before a certificate we issued lapses."""

import datetime as dt
import logging
from functools import partial

from cryptography import x509
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from sites.certificates.csr import csr_problems, load_csr
from sites.certificates.hashdata import CertificateFacts, facts_of, load_certificates
from sites.certificates.identity import identity_of
from sites.certificates.rules import check_certificate_intent  # noqa: F401 (registers the rules)
from sites.certificates.signing import certificate_signer
from sites.commands import intent_of, request_command
from sites.commands.intents import (
    CertificateHash,
    CertificateSigned,
    CertificateUse,
    DeleteCertificate,
    GetInstalledCertificateIds,
    InstallCertificate,
    Intent,
    TriggerableMessage,
    TriggerMessage,
)
from sites.commands.outcomes import Outcome
from sites.models import Charger, ChargerCertificate, Command
from sites.security_events import CSR_REJECTED, record_security_event
from sites.signals import command_settled

logger = logging.getLogger(__name__)


# --- SignCertificate (A02/A03) -------------------------------------------------------------


def answer_signing_request(*, charger_id: int, charge_point_id: str, csr: str, use: str) -> bool:
    """Accepted (True) when the CSR names this charger, is well made and a signer is ready;
    the signing follows the answer (whitepaper A02 steps 4-6: the CSMS answers, has the CSR signed,
    then sends CertificateSigned).
    A refusal (A02.FR.12: Rejected when it cannot process the request) is a CSR_REJECTED
    security event with its reasons (S12)."""
    charger = Charger.objects.select_related("site__organization").get(pk=charger_id)
    problems = csr_problems(csr, identity_of(charger))
    if not problems and (unavailable := certificate_signer().problem()):
        logger.error("certificate signing request of %s rejected: %s", charge_point_id, unavailable)
        problems = [unavailable]
    if problems:
        detail = {"reasons": problems, "use": use}
        record_security_event(charge_point_id=charge_point_id, kind=CSR_REJECTED, detail=detail, charger_id=charger_id)
        return False
    # Signed after this answer is committed, in a Celery task (an external CA may be slow).
    from sites.tasks import sign_certificate_task

    # robust: a failing broker must not undo the answer already committed (the writer would redo it).
    transaction.on_commit(partial(sign_certificate_task.delay, charger_id, csr, use), robust=True)
    return True


def sign_and_send(*, charger_id: int, csr: str, use: str) -> Command | None:
    """Sign an accepted CSR, record the certificate in the charger's inventory, and queue
    CertificateSigned with the chain, leaf first (the charger checks it, A02.FR.06). A signer
    that fails now (its CA gone, an external CA down) leaves a log line and a security event:
    the charger, answered Accepted, gets nothing and asks again later (A02)."""
    charger = Charger.objects.get(pk=charger_id)
    try:
        chain = certificate_signer().sign(load_csr(csr))
        certificates = load_certificates(chain)
    except Exception as exc:
        logger.exception("could not sign the certificate signing request of %s", charger.charge_point_id)
        detail = {"reasons": [f"signing failed: {exc}"], "use": use}
        record_security_event(
            charge_point_id=charger.charge_point_id, kind=CSR_REJECTED, detail=detail, charger_id=charger_id
        )
        return None
    issuer = certificates[1] if len(certificates) > 1 else None
    with transaction.atomic():
        record_certificate(charger_id, use, ChargerCertificate.Source.ISSUED, facts_of(certificates[0], issuer))
        return request_command(charger=charger, intent=CertificateSigned(certificate_chain=chain, use=use))


# --- Inventory -----------------------------------------------------------------------------


def record_certificate(charger_id: int, use: str, source: str, facts: CertificateFacts) -> ChargerCertificate:
    """One row per certificate (by its hash data) and charger: recorded again, it is updated."""
    now = timezone.now()
    values = {
        "use": use,
        "source": source,
        "subject": facts.subject[:500],
        "issuer": facts.issuer[:500],
        "not_before": facts.not_before,
        "not_after": facts.not_after,
        "fingerprint_sha256": facts.fingerprint_sha256,
        "hash_algorithm": facts.hash_algorithm,
        "certificate_pem": facts.pem,
        "updated_at": now,
    }
    row, _ = ChargerCertificate.objects.update_or_create(
        charger_id=charger_id,
        issuer_name_hash=facts.issuer_name_hash,
        issuer_key_hash=facts.issuer_key_hash,
        serial_number=facts.serial_number,
        defaults=values,
        create_defaults={**values, "created_at": now},  # used instead of `defaults` on create
    )
    return row


def _matching(charger_id: int, named: CertificateHash) -> "Q":
    """The rows of the charger's inventory named by hash data (serials compared without
    leading zeros or case: chargers differ in how they print them)."""
    return Q(
        charger_id=charger_id,
        issuer_name_hash__iexact=named.issuer_name_hash,
        issuer_key_hash__iexact=named.issuer_key_hash,
        serial_number__iexact=named.serial_number.lstrip("0") or "0",
    )


CERTIFICATE_INTENTS = frozenset(
    {CertificateSigned.kind, InstallCertificate.kind, DeleteCertificate.kind, GetInstalledCertificateIds.kind}
)


@receiver(command_settled)
def certificate_command_settled(sender, command: Command, outcome: Outcome | None = None, **kwargs) -> None:
    if command.intent in CERTIFICATE_INTENTS and outcome is not None:
        apply_certificate_outcome(command, intent_of(command), outcome, command.finished_at or timezone.now())


def apply_certificate_outcome(command: Command, intent: Intent, outcome: Outcome, at: dt.datetime) -> None:
    """What an answer changes in the inventory: an installed root is recorded (M05), a deleted
    certificate removed (M04.FR.02), the ids the charger reports replace what it
    reported before for those uses (M03)."""
    if isinstance(intent, CertificateSigned) and not outcome.accepted:
        # A02.FR.07: the charger found our chain invalid and discarded it: not in use there.
        logger.warning("charger %s refused the certificate we signed (%s)", command.charger_id, outcome.detail)
    elif isinstance(intent, InstallCertificate) and outcome.accepted:
        certificate = load_certificates(intent.certificate)[0]
        record_certificate(command.charger_id, intent.use, ChargerCertificate.Source.INSTALLED, facts_of(certificate))
    elif isinstance(intent, DeleteCertificate) and (outcome.accepted or _not_found(outcome)):
        # M04.FR.02 deleted; M04.FR.04 NotFound: the charger does not have it either.
        ChargerCertificate.objects.filter(_matching(command.charger_id, intent.certificate)).delete()
    elif isinstance(intent, GetInstalledCertificateIds) and (outcome.accepted or _not_found(outcome)):
        # M03.FR.02 NotFound: none of these uses installed, so none reported is left.
        _replace_reported(command.charger_id, intent, outcome.data.get("certificates", []), at)


def _not_found(outcome: Outcome) -> bool:
    return outcome.detail.startswith("NotFound")


def _replace_reported(
    charger_id: int, intent: GetInstalledCertificateIds, reported: list[dict], at: dt.datetime
) -> None:
    uses = intent.uses or CertificateUse.INSTALLED
    ChargerCertificate.objects.filter(
        charger_id=charger_id, source=ChargerCertificate.Source.REPORTED, use__in=uses
    ).delete()
    for entry in reported:
        named = CertificateHash(
            hash_algorithm=entry["hash_algorithm"], issuer_name_hash=entry["issuer_name_hash"],
            issuer_key_hash=entry["issuer_key_hash"], serial_number=entry["serial_number"],
        )  # fmt: skip
        if ChargerCertificate.objects.filter(_matching(charger_id, named)).exists():
            continue  # one we issued or installed: it keeps its details
        ChargerCertificate.objects.create(
            charger_id=charger_id, use=entry.get("use") or uses[0], source=ChargerCertificate.Source.REPORTED,
            hash_algorithm=named.hash_algorithm, issuer_name_hash=named.issuer_name_hash,
            issuer_key_hash=named.issuer_key_hash, serial_number=named.serial_number, created_at=at, updated_at=at,
        )  # fmt: skip


def certificate_hash_of(row: ChargerCertificate) -> CertificateHash:
    return CertificateHash(
        hash_algorithm=row.hash_algorithm, issuer_name_hash=row.issuer_name_hash,
        issuer_key_hash=row.issuer_key_hash, serial_number=row.serial_number,
    )  # fmt: skip


def parse_certificate(pem: str) -> x509.Certificate:
    """The first certificate of a PEM text (ValueError when there is none)."""
    return load_certificates(pem)[0]


# --- Renewal -------------------------------------------------------------------------------


def renew_expiring_certificates(*, now: dt.datetime) -> int:
    """Ask each charger whose certificate we issued expires within
    OCPP_CERTIFICATE_RENEW_BEFORE_DAYS for a new CSR (A02: the CSMS triggers
    SignChargePointCertificate / SignChargingStationCertificate), once per certificate."""
    horizon = now + dt.timedelta(days=settings.OCPP_CERTIFICATE_RENEW_BEFORE_DAYS)
    due = ChargerCertificate.objects.filter(
        source=ChargerCertificate.Source.ISSUED,
        use=CertificateUse.CHARGER,
        renewal_requested_at__isnull=True,
        not_after__lte=horizon,
    ).select_related("charger")
    asked = 0
    for row in due:
        with transaction.atomic():
            try:
                request_command(
                    charger=row.charger, intent=TriggerMessage(message=TriggerableMessage.SIGN_CERTIFICATE),
                    via=Command.Via.SYSTEM,
                )  # fmt: skip
            except Exception as exc:  # one charger's version cannot say it: the others still go
                logger.warning("no renewal for %s: %s", row.charger.charge_point_id, exc)
                continue
            ChargerCertificate.objects.filter(pk=row.pk).update(renewal_requested_at=now)
            asked += 1
    return asked
