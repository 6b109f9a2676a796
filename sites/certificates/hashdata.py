"""What the inventory keeps of a certificate: its names, validity, fingerprint, and the
CertificateHashDataType a charger names it by (whitepaper sec. 6.3, 2.0.1 2.6: hashes of the
issuer's distinguished name and public key, as in OCSP (RFC 6960), and the serial number)."""

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str
    pem: str


def load_certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text (raises ValueError when there is none)."""
    return x509.load_pem_x509_certificates(pem.encode())


def issuer_key_hash(issuer: x509.Certificate) -> str:
    """SHA-256 of the issuer's public key BIT STRING (RFC 6960 issuerKeyHash): the DER
    SubjectPublicKeyInfo without its algorithm, which `cryptography` gives as the raw key for
    PKCS#1 / X9.62 points."""
    key = issuer.public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    raw = _bit_string_of(spki)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(raw)
    return digest.finalize().hex()


def _bit_string_of(spki: bytes) -> bytes:
    """The subjectPublicKey BIT STRING's content (unused-bits byte dropped) of a DER
    SubjectPublicKeyInfo: SEQUENCE { SEQUENCE algorithm, BIT STRING key }."""
    offset = _header_length(spki, 0)  # into the outer SEQUENCE
    offset += _total_length(spki, offset)  # past the algorithm
    start = offset + _header_length(spki, offset)
    end = offset + _total_length(spki, offset)
    return spki[start + 1 : end]


def _header_length(der: bytes, offset: int) -> int:
    first = der[offset + 1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


def _total_length(der: bytes, offset: int) -> int:
    first = der[offset + 1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(der[offset + 2 : offset + 2 + count], "big")


def facts_of(certificate: x509.Certificate, issuer: x509.Certificate | None = None) -> CertificateFacts:
    """The inventory's view of `certificate`, issued by `issuer` (itself when None: a root)."""
    issuer = issuer or certificate
    name_hash = hashes.Hash(hashes.SHA256())
    name_hash.update(certificate.issuer.public_bytes())
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        hash_algorithm="SHA256",
        issuer_name_hash=name_hash.finalize().hex(),
        issuer_key_hash=issuer_key_hash(issuer),
        serial_number=format(certificate.serial_number, "x"),
        pem=certificate.public_bytes(Encoding.PEM).decode(),
    )
