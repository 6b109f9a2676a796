"""The client certificate of a profile-3 connection (1.6 security whitepaper sec. 2.5): where it
comes from (TLS terminated by `manage.py serve`, or a header from a trusted proxy) and whether
it is the charger's (issued by the charging-station CA, valid now, O and CN its own)."""

import datetime
import functools
import hashlib
import ipaddress
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from ocpp_gateway.tls import PEER_EXTENSION
from sites.certificates.identity import ChargerIdentity, subject_problems


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """What a refusal records about the certificate, and why it was refused (empty: accepted)."""

    problems: list[str]
    detail: dict[str, str]


def _is_trusted_proxy(address: str, trusted: str) -> bool:
    """Whether `address` is among TRUSTED_PROXIES (comma-separated addresses or networks, "*")."""
    entries = [entry.strip() for entry in trusted.split(",") if entry.strip()]
    if "*" in entries:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in entries  # a unix socket path or a name
    for entry in entries:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _tcp_peer(scope: Mapping[str, Any]) -> str:
    """The TCP peer, before uvicorn's proxy-headers middleware replaced scope["client"] by
    X-Forwarded-For (ocpp_gateway/tls.py keeps it); scope["client"] if not kept."""
    peer = (scope.get("extensions") or {}).get(PEER_EXTENSION) or scope.get("client") or ("", 0)
    return str(peer[0])


def presented_certificate(scope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The client certificate (PEM) of this connection: from the TLS layer of `manage.py serve`
    (the ASGI TLS extension) when it terminated TLS, else from OCPP_CLIENT_CERT_HEADER when the
    TCP peer is one of TRUSTED_PROXIES. From any other peer the header is ignored: anyone can
    send it."""
    tls = (scope.get("extensions") or {}).get("tls")
    if tls is not None:
        # TLS terminated here: the peer is the charger itself, never a proxy, and what it sent
        # in the TLS handshake is all there is (a header would need no private key).
        chain = tls.get("client_cert_chain") or []
        return str(chain[0]) if chain else None
    header = settings.OCPP_CLIENT_CERT_HEADER.lower()
    if not header or not headers.get(header):
        return None
    if not _is_trusted_proxy(_tcp_peer(scope), settings.TRUSTED_PROXIES):
        return None
    # nginx's $ssl_client_escaped_cert: URL-escaped PEM.
    return urllib.parse.unquote(headers[header])


@functools.cache
def _certificate_authorities(path: str) -> tuple[x509.Certificate, ...]:
    """The charging-station CA bundle, read once per process."""
    if not path:
        return ()
    with open(path, "rb") as bundle:
        return tuple(x509.load_pem_x509_certificates(bundle.read()))


def describe(certificate: x509.Certificate) -> dict[str, str]:
    """What identifies the certificate in a security event (never a key)."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial": format(certificate.serial_number, "x"),
        "fingerprint_sha256": hashlib.sha256(der).hexdigest(),
    }


def _issued_by_our_ca(certificate: x509.Certificate, authorities: tuple[x509.Certificate, ...]) -> bool:
    """Signed directly by one of the CAs (A00.FR.402: the charging-station certificate is issued
    under the CPO's CA). The TLS layer checked this already for `serve`'s own TLS; a header from
    a proxy is checked here, so that a misconfigured proxy cannot let another CA in."""
    for authority in authorities:
        if authority.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(authority)
        except (InvalidSignature, ValueError, TypeError):  # TypeError: an unsupported key type
            continue
        return True
    return False


def check_certificate(pem: str, identity: ChargerIdentity, now: datetime.datetime) -> CertificateCheck:
    """Why this certificate may not open a profile-3 connection for this charger (A00.FR.401-405)."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return CertificateCheck(["the client certificate could not be read"], {})
    detail = describe(certificate)
    problems = []
    if not _issued_by_our_ca(certificate, _certificate_authorities(settings.OCPP_TLS_CLIENT_CA_FILE)):
        problems.append("not issued by the charging-station CA (OCPP_TLS_CLIENT_CA_FILE)")
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        problems.append(
            f"not valid now (valid {certificate.not_valid_before_utc.isoformat()}"
            f" to {certificate.not_valid_after_utc.isoformat()})"
        )
    # O = the CPO, CN = the charger (A00.FR.404/405).
    problems.extend(subject_problems(certificate.subject, identity))
    return CertificateCheck(problems, detail)
