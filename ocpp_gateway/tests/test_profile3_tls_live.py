"""End to end, security profile 3 (1.6 security whitepaper sec. 2.5) on real TLS over loopback:
`manage.py serve` terminates TLS with a server certificate and a charging-station CA made here;
`websockets` clients with and without client certificates. The charger's own certificate opens
the connection; a wrong O, a wrong CN, none at all are refused with HTTP 403 before accept and
leave a security event naming the problem. One from another CA or an expired one never gets
that far: the TLS layer verifies what is sent (CERT_OPTIONAL) and the TLS handshake fails
(Python's ssl has no verify callback to let it through to the application; the same checks
on the proxy-header path answer 403 with an event: test_client_certificates.py). A profile-2
charger with HTTP Basic works on the same listener."""

import asyncio
import datetime
import json
import ssl
from pathlib import Path

import pytest
import websockets

from common.live_server import live_server
from ocpp_gateway.tests.live_chargers import call
from ocpp_gateway.tests.pki import NOW, OPERATOR, Authority, name, write

PROFILE3 = "DEMO-CP-002"  # made profile 3 below
PROFILE2 = "DEMO-CP-001"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    root, other = Authority("Charging Station CA"), Authority("Someone else's CA")
    self_signed = Authority(PROFILE3)  # the charger's own subject, signed by its own key
    files = {
        "ca": write(directory / "ca.pem", root.certificate),
        "server": write(directory / "server.pem", *root.issue(name(OPERATOR, "localhost"), server=True)),
        "good": write(directory / "good.pem", *root.issue(name(OPERATOR, PROFILE3))),
        "wrong_o": write(directory / "wrong_o.pem", *root.issue(name("Other Operator", PROFILE3))),
        "wrong_cn": write(directory / "wrong_cn.pem", *root.issue(name(OPERATOR, "DEMO-CP-999"))),
        "expired": write(
            directory / "expired.pem",
            *root.issue(
                name(OPERATOR, PROFILE3),
                not_before=NOW - datetime.timedelta(days=60),
                not_after=NOW - datetime.timedelta(days=1),
            ),
        ),
        "other_ca": write(directory / "other_ca.pem", *other.issue(name(OPERATOR, PROFILE3))),
        "self_signed": write(directory / "self_signed.pem", self_signed.certificate, self_signed.key),
    }
    return files


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki):
    with live_server(
        tmp_path_factory.mktemp("liveprofile3"),
        OCPP_TLS_CERT_FILE=str(pki["server"]),
        OCPP_TLS_CLIENT_CA_FILE=str(pki["ca"]),
        # One event row per refusal, and no handshake limit in the way of the refusals here.
        OCPP_SECURITY_EVENT_RECORD_INTERVAL="0",
        OCPP_HANDSHAKE_FAILURES_PER_ID="1000/minute",
    ) as running:
        running.execute("UPDATE sites_charger SET security_profile = 3 WHERE charge_point_id = %s", (PROFILE3,))
        yield running


def _client_context(pki: dict[str, Path], certificate: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    if certificate is not None:
        context.load_cert_chain(str(pki[certificate]))
    return context


BOOTS = {
    "ocpp1.6": {"chargePointVendor": "ACME", "chargePointModel": "X1"},
    "ocpp2.0.1": {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "X2"}},
}


async def _boot(
    server, pki, charge_point_id: str, certificate: str | None, headers: dict | None = None, version: str = "ocpp1.6"
) -> list:
    async with websockets.connect(
        f"{server.ws_url}/{charge_point_id}",
        subprotocols=[version],
        ssl=_client_context(pki, certificate),
        additional_headers=headers or {},
        open_timeout=5,
    ) as ws:
        assert ws.subprotocol == version
        return await call(ws, f"boot-{version}", "BootNotification", BOOTS[version])


def _refusal_status(server, pki, certificate: str | None, headers: dict | None = None) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(_boot(server, pki, PROFILE3, certificate, headers))
    return refused.value.response.status_code


def _events(server, kind: str) -> list[dict]:
    rows = server.query(
        "SELECT CAST(detail AS TEXT) FROM sites_securityevent WHERE charge_point_id = %s AND kind = %s ORDER BY id",
        (PROFILE3, kind),
    )
    return [json.loads(detail) for (detail,) in rows]


# The security profiles are the same for OCPP 2.0.1 (part 2, A00.FR.2xx-4xx: profile 2 HTTP
# Basic over TLS, profile 3 the station's client certificate); a station speaks either version.
VERSIONS = pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])


@VERSIONS
def test_the_chargers_own_certificate_opens_the_connection(server, pki, version):
    answer = asyncio.run(_boot(server, pki, PROFILE3, "good", version=version))
    assert answer[0] == 3
    assert answer[2]["status"] == "Accepted"


@VERSIONS
def test_a_profile_2_charger_with_basic_auth_works_on_the_same_listener(server, pki, version):
    answer = asyncio.run(_boot(server, pki, PROFILE2, None, server.basic_auth(PROFILE2), version=version))
    assert answer[2]["status"] == "Accepted"


@pytest.mark.parametrize(
    ("certificate", "problem"),
    [
        ("wrong_o", "O (organizationName) must be 'Demo Charging Co', not Other Operator"),
        ("wrong_cn", "CN (commonName) must be 'DEMO-CP-002', not DEMO-CP-999"),
        # The TLS layer leaves dates to the application, so that this one is recorded too.
        ("expired", "not valid now"),
    ],
)
def test_a_wrong_certificate_is_refused_before_accept_and_recorded(server, pki, certificate, problem):
    assert _refusal_status(server, pki, certificate) == 403
    details = [detail for detail in _events(server, "ClientCertificateRefused") if problem in detail["reason"]]
    assert details, _events(server, "ClientCertificateRefused")
    assert any(problem in text for text in details[-1]["problems"])
    assert details[-1]["fingerprint_sha256"]
    assert details[-1]["serial"]
    assert PROFILE3 in details[-1]["subject"] or "DEMO-CP-999" in details[-1]["subject"]


def test_no_certificate_is_a_downgrade_even_with_basic_credentials(server, pki):
    headers = {"Authorization": "Basic " + __import__("base64").b64encode(f"{PROFILE3}:whatever".encode()).decode()}
    assert _refusal_status(server, pki, None, headers) == 403
    [*_, detail] = _events(server, "SecurityProfileDowngrade")
    assert "client certificate" in detail["reason"]


@pytest.mark.parametrize("certificate", ["other_ca", "self_signed"])
def test_a_certificate_the_tls_layer_cannot_verify_fails_the_tls_handshake(server, pki, certificate):
    # Another CA's or a self-signed certificate: verified by the TLS layer (CERT_OPTIONAL still
    # verifies what is sent), the server aborts the TLS handshake, so there is no HTTP answer and
    # nothing reaches the application. The client sees an SSL error or a dropped connection
    # (with TLS 1.3 the client's certificate is checked after the client thinks it is done).
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError, websockets.InvalidMessage, OSError)):
        asyncio.run(_boot(server, pki, PROFILE3, certificate))
