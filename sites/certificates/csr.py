"""The checks a charger's certificate signing request passes before we sign it (ACCEPTANCE
S12; 1.6 security whitepaper A02/A03 and sec. 5.12 SignCertificate; 2.0.1 A02/A03): one list of
reasons, empty when the CSR may be signed."""

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sites.certificates.identity import ChargerIdentity, subject_problems

# A00.FR.502 (RSA/DSA at least 2048 bits) and A00.FR.503 (elliptic curves at least 224 bits).
MIN_RSA_BITS = 2048
MIN_EC_BITS = 224
# A00.FR.504/506: algorithms BSI recommends, SHA-256 for hashes: SHA-256 or stronger signs the CSR.
STRONG_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    """The CSR of a PEM text (raises ValueError when it is none)."""
    if "-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise ValueError("not a PEM certificate signing request")
    return x509.load_pem_x509_csr(pem.encode())


def csr_problems(pem: str, identity: ChargerIdentity) -> list[str]:
    """Why this CSR must not be signed for the charger `identity` names (empty: it may be)."""
    try:
        csr = load_csr(pem)
    except ValueError:
        return ["not a PEM-encoded certificate signing request (RFC 2986)"]
    problems: list[str] = []
    try:
        if not csr.is_signature_valid:
            problems.append("its self-signature does not verify")
    except UnsupportedAlgorithm:
        problems.append("its signature algorithm is not supported")
    problems += key_problems(csr)
    problems += hash_problems(csr)
    problems += subject_problems(csr.subject, identity)
    problems += extension_problems(csr)
    return problems


def key_problems(csr: x509.CertificateSigningRequest) -> list[str]:
    """A00.FR.502/503: RSA of 2048 bits or more, or an elliptic curve of 224 bits or more."""
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return ["its public key cannot be read"]
    if isinstance(key, rsa.RSAPublicKey):
        return [] if key.key_size >= MIN_RSA_BITS else [f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
        return [] if bits >= MIN_EC_BITS else [f"elliptic curve key of {bits} bits (at least {MIN_EC_BITS})"]
    return [f"key type {type(key).__name__} not allowed (RSA or elliptic curve)"]


def hash_problems(csr: x509.CertificateSigningRequest) -> list[str]:
    """A00.FR.504/506: signed with SHA-256 or stronger."""
    try:
        algorithm = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    if isinstance(algorithm, STRONG_HASHES):
        return []
    name = algorithm.name if algorithm is not None else "none"
    return [f"signature hash {name} (SHA-256 or stronger)"]


def extension_problems(csr: x509.CertificateSigningRequest) -> list[str]:
    """The charger is named by its subject alone: a SubjectAlternativeName could make the
    certificate we sign valid for other names (ACCEPTANCE S12, issue 18 "no extra SANs")."""
    try:
        extensions = csr.extensions
    except ValueError:
        return ["its extensions cannot be read"]
    try:
        extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ["it asks for a SubjectAlternativeName"]
