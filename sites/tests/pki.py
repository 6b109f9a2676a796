"""Test PKI made with `cryptography`: a CA written to files, and CSRs good and bad."""

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def make_ca(directory: Path, name: str = "Test Charging Station CA") -> tuple[Path, Path, x509.Certificate]:
    """A self-signed EC CA; returns (certificate file, key file, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "ca.pem", directory / "ca.key"
    cert_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file, ca


def make_csr(
    *,
    organization: str | None,
    common_name: str | None,
    key=None,
    san: list[str] | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
) -> str:
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    names = []
    if organization is not None:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name is not None:
        names.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    csr = builder.sign(key, algorithm or hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def rsa_key(bits: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def verify_chain(chain_pem: str, ca: x509.Certificate) -> x509.Certificate:
    """The leaf of a chain, checked to be signed by `ca` (raises otherwise)."""
    leaf, *_ = x509.load_pem_x509_certificates(chain_pem.encode())
    leaf.verify_directly_issued_by(ca)
    return leaf
