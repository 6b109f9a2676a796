"""Profile 3's client certificate without a server: where it is taken from (the TLS extension,
or a proxy's header believed only from TRUSTED_PROXIES) and the checks of check_certificate,
which the proxy-header path relies on alone (A00.FR.401-405)."""

import datetime
import ssl
import urllib.parse

import pytest
from cryptography.hazmat.primitives import serialization

from ocpp_gateway.client_certificates import _certificate_authorities, check_certificate, presented_certificate
from ocpp_gateway.handshake import HandshakeRefused, check_credentials
from ocpp_gateway.tests.pki import NOW, OPERATOR, Authority, name, write
from ocpp_gateway.tls import PEER_EXTENSION, _hardened_context
from sites.certificates.identity import ChargerIdentity
from sites.security_events import CLIENT_CERTIFICATE_REFUSED, PROFILE_DOWNGRADE
from sites.selectors import ChargerAccess

CHARGER = "CP-3"
IDENTITY = ChargerIdentity(operator_name=OPERATOR, charge_point_id=CHARGER)
ROOT = Authority("Charging Station CA")
OTHER = Authority("Someone else's CA")


def _pem(authority: Authority = ROOT, **options) -> str:
    certificate, _ = authority.issue(options.pop("subject", name(OPERATOR, CHARGER)), **options)
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.OCPP_TLS_CLIENT_CA_FILE = str(write(tmp_path / "ca.pem", ROOT.certificate))
    settings.OCPP_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"
    settings.TRUSTED_PROXIES = "10.0.0.5, 192.168.1.0/24"
    _certificate_authorities.cache_clear()
    yield
    _certificate_authorities.cache_clear()


def _scope(peer: str, forwarded_for: str = "203.0.113.9", **extensions) -> dict:
    """As uvicorn leaves it: scope["client"] rewritten from X-Forwarded-For, the TCP peer kept."""
    return {"scheme": "wss", "client": (forwarded_for, 1234), "extensions": {PEER_EXTENSION: (peer, 443), **extensions}}


def _header(pem: str) -> dict[str, str]:
    return {"x-ssl-client-cert": urllib.parse.quote(pem)}  # nginx's $ssl_client_escaped_cert


def test_the_header_is_believed_from_a_trusted_proxy_only():
    pem = _pem()
    assert presented_certificate(_scope("10.0.0.5"), _header(pem)) == pem
    assert presented_certificate(_scope("192.168.1.77"), _header(pem)) == pem
    # The header from anyone else, even claiming (X-Forwarded-For) to come through the proxy.
    assert presented_certificate(_scope("198.51.100.1", forwarded_for="10.0.0.5"), _header(pem)) is None


def test_no_header_is_believed_unless_one_is_configured(settings):
    settings.OCPP_CLIENT_CERT_HEADER = ""
    assert presented_certificate(_scope("10.0.0.5"), _header(_pem())) is None


def test_the_tls_extension_comes_first():
    pem = _pem()
    scope = _scope("198.51.100.1", tls={"client_cert_chain": [pem], "server_cert": None})
    assert presented_certificate(scope, {}) == pem


def test_over_our_own_tls_a_header_is_never_believed():
    # The TCP peer is the charger itself (even on a "trusted" address): only the certificate
    # it proved in the TLS handshake counts.
    scope = _scope("10.0.0.5", tls={"client_cert_chain": [], "server_cert": None})
    assert presented_certificate(scope, _header(_pem())) is None


def test_the_chargers_own_certificate_passes():
    assert check_certificate(_pem(), IDENTITY, NOW).problems == []


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"authority": OTHER}, "not issued by the charging-station CA"),
        ({"not_after": NOW - datetime.timedelta(days=1)}, "not valid now"),
        ({"not_before": NOW + datetime.timedelta(days=1)}, "not valid now"),
        ({"subject": name("Other Operator", CHARGER)}, "O (organizationName) must be"),
        ({"subject": name(OPERATOR, "CP-9")}, "CN (commonName) must be"),
    ],
)
def test_each_problem_is_named(options, problem):
    check = check_certificate(_pem(**options), IDENTITY, NOW)
    assert any(problem in text for text in check.problems), check.problems
    assert all(check.detail[key] for key in ("fingerprint_sha256", "serial", "subject"))


def test_a_self_signed_certificate_is_not_the_cas():
    own = Authority(CHARGER)  # the charger's own subject, signed with its own key
    pem = own.certificate.public_bytes(serialization.Encoding.PEM).decode()
    assert any(
        "not issued by the charging-station CA" in text for text in check_certificate(pem, IDENTITY, NOW).problems
    )


def _charger() -> ChargerAccess:
    return ChargerAccess(
        id=7,
        charge_point_id=CHARGER,
        organization_id=1,
        registration_status="Accepted",
        security_profile=3,
        auth_key_hash="",
        pending_auth_key_hash="",
        heartbeat_interval=300,
        operator_name=OPERATOR,
    )


def test_profile_3_through_a_trusted_proxy():
    check_credentials(_charger(), _scope("10.0.0.5"), _header(_pem()))


def test_profile_3_refusals_carry_the_event_and_the_certificate():
    with pytest.raises(HandshakeRefused) as refused:
        check_credentials(_charger(), _scope("10.0.0.5"), _header(_pem(authority=OTHER)))
    assert refused.value.status == 403
    assert refused.value.security_event == CLIENT_CERTIFICATE_REFUSED
    assert refused.value.detail["fingerprint_sha256"]
    # The same header from an untrusted peer is no certificate at all: a downgrade.
    with pytest.raises(HandshakeRefused) as refused:
        check_credentials(_charger(), _scope("198.51.100.1"), _header(_pem()))
    assert (refused.value.status, refused.value.security_event) == (403, PROFILE_DOWNGRADE)


def test_the_servers_tls_is_1_2_at_least():
    context = _hardened_context(None, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_serve_asks_for_an_optional_client_certificate_when_configured():
    from ocpp_gateway.tls import server_ssl_options

    assert server_ssl_options("", "", "") == {}
    options = server_ssl_options("server.pem", "", "ca.pem")
    assert options["ssl_cert_reqs"] == ssl.CERT_OPTIONAL  # profile 1/2 chargers have none
    assert options["ssl_ca_certs"] == "ca.pem"
