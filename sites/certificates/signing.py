"""Who signs a charger's accepted CSR: the signer named by the setting OCPP_CERTIFICATE_SIGNER
(a dotted path to a class taking no arguments), so that an operator's external CA can be plugged
in; the built-in one signs with a CA whose certificate and key are files (OCPP_CA_CERT_FILE,
OCPP_CA_KEY_FILE): the key is read when signing and never stored in the database."""

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.conf import settings
from django.utils.module_loading import import_string


class SignerUnavailable(Exception):
    """The signer cannot sign now (no CA configured, a file missing or unreadable)."""


class CertificateSigner(Protocol):
    def problem(self) -> str:
        """Why it cannot sign now ("" when it can): checked before a CSR is accepted."""
        ...

    def sign(self, csr: x509.CertificateSigningRequest) -> str:
        """The chain (PEM, leaf first, then the CAs up to, not always including, the root)."""
        ...


def certificate_signer() -> CertificateSigner:
    return import_string(settings.OCPP_CERTIFICATE_SIGNER)()


@dataclass(frozen=True, slots=True)
class CaSummary:
    """What the admin shows of the configured CA: public facts only."""

    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


class BuiltinCaSigner:
    """Signs with the CA of OCPP_CA_CERT_FILE / OCPP_CA_KEY_FILE: a leaf with the CSR's subject
    and key, a random serial, OCPP_CERTIFICATE_VALIDITY_DAYS of validity, SHA-256, and
    clientAuth (the charger's TLS client certificate, security profile 3)."""

    def __init__(self) -> None:
        self.cert_file = settings.OCPP_CA_CERT_FILE
        self.key_file = settings.OCPP_CA_KEY_FILE

    def problem(self) -> str:
        if not (self.cert_file and self.key_file):
            return "no certificate authority configured (OCPP_CA_CERT_FILE and OCPP_CA_KEY_FILE)"
        for name, path in (("OCPP_CA_CERT_FILE", self.cert_file), ("OCPP_CA_KEY_FILE", self.key_file)):
            if not Path(path).is_file():
                return f"{name} {path} is not a readable file"
        return ""

    def ca_certificate(self) -> x509.Certificate:
        if problem := self.problem():
            raise SignerUnavailable(problem)
        return x509.load_pem_x509_certificate(Path(self.cert_file).read_bytes())

    def _ca_key(self) -> SigningKey:
        key = serialization.load_pem_private_key(Path(self.key_file).read_bytes(), password=None)
        if not isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
        ):
            raise SignerUnavailable(f"OCPP_CA_KEY_FILE holds a {type(key).__name__}, which cannot sign certificates")
        return key

    def sign(self, csr: x509.CertificateSigningRequest) -> str:
        ca = self.ca_certificate()
        key = self._ca_key()
        now = dt.datetime.now(dt.UTC)
        days = settings.OCPP_CERTIFICATE_VALIDITY_DAYS
        leaf = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(ca.subject)
            .public_key(csr.public_key())
            # RFC 5280 4.1.2.2: positive, at most 20 octets; random, so that it is unguessable.
            .serial_number(secrets.randbits(159) | 1)
            .not_valid_before(now - dt.timedelta(minutes=5))  # a charger's clock a little behind
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_encipherment=True,
                    content_commitment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)  # type: ignore[arg-type]
        )
        algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else hashes.SHA256()
        certificate = leaf.sign(key, algorithm)
        pem = serialization.Encoding.PEM
        return certificate.public_bytes(pem).decode() + ca.public_bytes(pem).decode()

    def summary(self) -> CaSummary | None:
        """The configured CA's public facts, None when none is configured."""
        try:
            ca = self.ca_certificate()
        except (SignerUnavailable, ValueError, OSError):
            return None
        return CaSummary(
            subject=ca.subject.rfc4514_string(),
            not_before=ca.not_valid_before_utc,
            not_after=ca.not_valid_after_utc,
            fingerprint_sha256=ca.fingerprint(hashes.SHA256()).hex(),
        )
