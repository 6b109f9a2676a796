"""What a certificate command may carry (sites.commands.rules' registry): uses the operation has,
certificates that are PEM X.509, hash data a charger can match. Checked by the one outbound port
before the Command row exists, so the API, the admin and the services get the same answer."""

import re

from django.core.exceptions import ValidationError

from sites.certificates.hashdata import load_certificates
from sites.commands.intents import (
    CertificateHash,
    CertificateSigned,
    CertificateUse,
    DeleteCertificate,
    GetInstalledCertificateIds,
    InstallCertificate,
    Intent,
)
from sites.commands.rules import register_command_rule
from sites.models import Charger, ChargerCertificate

HASH_ALGORITHMS = ("SHA256", "SHA384", "SHA512")  # HashAlgorithmEnumType
HEX = re.compile(r"^[0-9a-fA-F]+$")


def _use(use: str, allowed: tuple[str, ...]) -> None:
    if use not in allowed:
        raise ValidationError(
            "use: one of %(uses)s, not %(use)s.",
            code="certificate_use",
            params={"uses": ", ".join(allowed), "use": use},
        )


def _pem(text: str, field: str, *, single: bool) -> None:
    try:
        certificates = load_certificates(text)
    except ValueError:
        raise ValidationError(f"{field}: give PEM-encoded X.509 certificates.", code="certificate") from None
    if single and len(certificates) != 1:
        raise ValidationError(f"{field}: exactly one certificate.", code="certificate")


def check_certificate_intent(charger: Charger, intent: Intent) -> None:
    if isinstance(intent, CertificateSigned):
        _use(intent.use, CertificateUse.SIGNED)
        _pem(intent.certificate_chain, "certificate_chain", single=False)
    elif isinstance(intent, InstallCertificate):
        # M05: roots only; a charger's own certificate comes from its CSR (A02/A03).
        _use(intent.use, CertificateUse.ROOTS)
        _pem(intent.certificate, "certificate", single=True)
    elif isinstance(intent, GetInstalledCertificateIds):
        for use in intent.uses:
            _use(use, CertificateUse.INSTALLED)
    elif isinstance(intent, DeleteCertificate):
        named = intent.certificate
        if named.hash_algorithm not in HASH_ALGORITHMS:
            raise ValidationError(f"hash_algorithm: one of {', '.join(HASH_ALGORITHMS)}.", code="certificate_hash")
        for field in ("issuer_name_hash", "issuer_key_hash", "serial_number"):
            if not HEX.match(getattr(named, field)):
                raise ValidationError(f"{field}: hexadecimal digits.", code="certificate_hash")
        if _names_its_own_certificate(charger, named):
            # M04.FR.05: the charger's own certificate is never deleted this way (a new CSR replaces it).
            raise ValidationError("The charger's own certificate cannot be deleted.", code="certificate_hash")


def _names_its_own_certificate(charger: Charger, named: CertificateHash) -> bool:
    return ChargerCertificate.objects.filter(
        charger=charger,
        use__in=CertificateUse.SIGNED,
        issuer_name_hash__iexact=named.issuer_name_hash,
        issuer_key_hash__iexact=named.issuer_key_hash,
        serial_number__iexact=named.serial_number.lstrip("0") or "0",
    ).exists()


for _kind in (CertificateSigned, InstallCertificate, DeleteCertificate, GetInstalledCertificateIds):
    register_command_rule(_kind.kind, check_certificate_intent)
