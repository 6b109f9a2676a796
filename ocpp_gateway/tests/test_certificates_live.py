"""End to end over a real `manage.py serve` with a CA made here and given as settings: a 1.6
charge point (security extension) and a 2.0.1 station send SignCertificate, are answered
Accepted, and receive CertificateSigned whose chain verifies against the CA and names them
(A02.FR.06); a bad CSR is Rejected and recorded (S12); roots are installed, listed and deleted
through the API, the inventory following the answers (M03-M05). Celery runs in the server
process (no broker), so the signing follows the answer there."""

import asyncio

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import booted, settled_command
from sites.certificates.hashdata import facts_of
from sites.tests.pki import make_ca, make_csr, verify_chain

CHARGER_16 = "DEMO-CP-001"
STATION = "DEMO-CS-201"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki):
    cert_file, key_file, _ = pki
    with live_server(
        tmp_path_factory.mktemp("livecerts"),
        CELERY_BROKER_URL="",
        OCPP_CA_CERT_FILE=str(cert_file),
        OCPP_CA_KEY_FILE=str(key_file),
    ) as running:
        yield running


def operator_of(server, charge_point_id: str) -> str:
    [(name,)] = server.query(
        "SELECT CASE WHEN o.operator_name = '' THEN o.name ELSE o.operator_name END FROM sites_charger c "
        "JOIN sites_site s ON s.id = c.site_id JOIN accounts_organization o ON o.id = s.organization_id "
        "WHERE c.charge_point_id = %s",
        (charge_point_id,),
    )
    return name


class CertificateChargePoint(ChargePoint16):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chains: asyncio.Queue[str] = asyncio.Queue()
        self.asked: list[tuple[str, dict]] = []
        self.installed: list[dict] = []

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain: str, **_):
        await self.chains.put(certificate_chain)
        return result16.CertificateSigned(status="Accepted")

    @on("InstallCertificate")
    async def on_install(self, certificate_type: str, certificate: str, **_):
        self.asked.append(("InstallCertificate", {"certificate_type": certificate_type}))
        facts = facts_of(x509.load_pem_x509_certificate(certificate.encode()))
        self.installed.append(
            {
                "hash_algorithm": "SHA256",
                "issuer_name_hash": facts.issuer_name_hash,
                "issuer_key_hash": facts.issuer_key_hash,
                "serial_number": facts.serial_number,
            }
        )
        return result16.InstallCertificate(status="Accepted")

    @on("GetInstalledCertificateIds")
    async def on_get_ids(self, certificate_type: str, **_):
        self.asked.append(("GetInstalledCertificateIds", {"certificate_type": certificate_type}))
        if not self.installed:
            return result16.GetInstalledCertificateIds(status="NotFound")
        return result16.GetInstalledCertificateIds(status="Accepted", certificate_hash_data=list(self.installed))

    @on("DeleteCertificate")
    async def on_delete(self, certificate_hash_data: dict, **_):
        self.asked.append(("DeleteCertificate", certificate_hash_data))
        self.installed = [c for c in self.installed if c["serial_number"] != certificate_hash_data["serial_number"]]
        return result16.DeleteCertificate(status="Accepted")


class CertificateStation(ChargePoint201):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chains: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain: str, certificate_type: str | None = None, **_):
        await self.chains.put((certificate_chain, certificate_type))
        return result201.CertificateSigned(status="Accepted")


def charge_point_16(server):
    return booted(server, CHARGER_16, CertificateChargePoint)


def station_201(server):
    return booted(server, STATION, CertificateStation, version="2.0.1")


def _common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


async def _settled(server, charge_point_id: str) -> None:
    """Until the charger's answer to CertificateSigned is recorded: a test that hangs up at once
    would leave the command sent and unanswered, resent to the next test's connection first."""
    await asyncio.to_thread(
        server.wait_for,
        "SELECT COUNT(*) FROM sites_command c JOIN sites_charger ch ON ch.id = c.charger_id "
        "WHERE ch.charge_point_id = %s AND c.intent = 'certificate_signed' AND c.status = 'sent'",
        0,
        (charge_point_id,),
    )


def test_a_16_charge_point_gets_its_csr_signed(server, pki):
    _, _, ca = pki
    csr = make_csr(organization=operator_of(server, CHARGER_16), common_name=CHARGER_16)

    async def run():
        async with charge_point_16(server) as role:
            answer = await role.call(call16.SignCertificate(csr=csr))
            chain = await asyncio.wait_for(role.chains.get(), 15)
            await _settled(server, CHARGER_16)  # answered while connected: nothing left to resend
            return answer, chain

    answer, chain = asyncio.run(run())
    assert answer.status == "Accepted"
    leaf = verify_chain(chain, ca)
    assert _common_name(leaf) == CHARGER_16
    rows = server.query(
        "SELECT k.use, k.source, k.serial_number FROM sites_chargercertificate k JOIN sites_charger c "
        "ON c.id = k.charger_id WHERE c.charge_point_id = %s AND k.source = 'issued'",
        (CHARGER_16,),
    )
    assert ("charger", "issued", format(leaf.serial_number, "x")) in rows
    # The charger's answer settles the command that carried the chain.
    server.wait_for("SELECT COUNT(*) FROM sites_command WHERE intent = 'certificate_signed' AND status = 'accepted'", 1)


def test_a_201_station_gets_its_csr_signed(server, pki):
    _, _, ca = pki
    csr = make_csr(organization=operator_of(server, STATION), common_name=STATION)

    async def run():
        async with station_201(server) as role:
            request = call201.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate")
            answer = await role.call(request)
            chain = await asyncio.wait_for(role.chains.get(), 15)
            await _settled(server, STATION)
            return answer, chain

    answer, (chain, certificate_type) = asyncio.run(run())
    assert answer.status == "Accepted"
    assert certificate_type == "ChargingStationCertificate"
    assert _common_name(verify_chain(chain, ca)) == STATION


def test_a_bad_csr_is_rejected_and_recorded(server):
    csr = make_csr(organization="Someone Else", common_name=CHARGER_16)

    async def run():
        async with charge_point_16(server) as role:
            return await role.call(call16.SignCertificate(csr=csr))

    assert asyncio.run(run()).status == "Rejected"
    rows = server.query(
        "SELECT kind, critical FROM sites_securityevent WHERE charge_point_id = %s AND kind = %s",
        (CHARGER_16, "CertificateSigningRequestRejected"),
    )
    assert rows
    assert rows[0][1] in (1, True)


def test_roots_are_installed_listed_and_deleted_through_the_api_on_a_16_charge_point(server, pki):
    cert_file, _, ca = pki
    session = AdminSession(server)
    root = cert_file.read_text()
    facts = facts_of(ca)
    hash_data = {
        "hash_algorithm": "SHA256",
        "issuer_name_hash": facts.issuer_name_hash,
        "issuer_key_hash": facts.issuer_key_hash,
        "serial_number": facts.serial_number,
    }

    def inventory() -> list[tuple]:
        return server.query(
            "SELECT k.use, k.source FROM sites_chargercertificate k JOIN sites_charger c ON c.id = k.charger_id "
            "WHERE c.charge_point_id = %s AND k.use = 'csms_root' ORDER BY k.id",
            (CHARGER_16,),
        )

    async def run():
        async with charge_point_16(server) as role:
            installed = await settled_command(
                session, CHARGER_16, {"intent": "install_certificate", "use": "csms_root", "certificate": root}
            )
            after_install = inventory()
            listed = await settled_command(
                session, CHARGER_16, {"intent": "get_installed_certificate_ids", "uses": ["csms_root"]}
            )
            deleted = await settled_command(
                session, CHARGER_16, {"intent": "delete_certificate", "certificate": hash_data}
            )
            after_delete = inventory()
            return installed, after_install, listed, deleted, after_delete, role.asked

    installed, after_install, listed, deleted, after_delete, asked = asyncio.run(run())
    assert (installed["status"], installed["action"]) == ("accepted", "InstallCertificate")
    assert after_install == [("csms_root", "installed")]
    assert (listed["status"], listed["action"]) == ("accepted", "GetInstalledCertificateIds")
    assert (deleted["status"], deleted["action"]) == ("accepted", "DeleteCertificate")
    assert after_delete == []
    assert [name for name, _ in asked] == ["InstallCertificate", "GetInstalledCertificateIds", "DeleteCertificate"]
    assert asked[0][1] == {"certificate_type": "CentralSystemRootCertificate"}


class CertificateStoreStation(ChargePoint201):
    """A 2.0.1 station with a certificate store (M03-M05)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, dict]] = []
        self.installed: list[dict] = []

    @on("InstallCertificate")
    async def on_install(self, certificate_type: str, certificate: str, **_):
        self.asked.append(("InstallCertificate", {"certificate_type": certificate_type}))
        facts = facts_of(x509.load_pem_x509_certificate(certificate.encode()))
        self.installed.append(
            {
                "certificate_type": certificate_type,
                "certificate_hash_data": {
                    "hash_algorithm": "SHA256",
                    "issuer_name_hash": facts.issuer_name_hash,
                    "issuer_key_hash": facts.issuer_key_hash,
                    "serial_number": facts.serial_number,
                },
            }
        )
        return result201.InstallCertificate(status="Accepted")

    @on("GetInstalledCertificateIds")
    async def on_get_ids(self, certificate_type: list | None = None, **_):
        self.asked.append(("GetInstalledCertificateIds", {"certificate_type": certificate_type}))
        if not self.installed:
            return result201.GetInstalledCertificateIds(status="NotFound")
        return result201.GetInstalledCertificateIds(status="Accepted", certificate_hash_data_chain=list(self.installed))

    @on("DeleteCertificate")
    async def on_delete(self, certificate_hash_data: dict, **_):
        self.asked.append(("DeleteCertificate", certificate_hash_data))
        serial = certificate_hash_data["serial_number"]
        self.installed = [c for c in self.installed if c["certificate_hash_data"]["serial_number"] != serial]
        return result201.DeleteCertificate(status="Accepted")


def test_roots_are_installed_listed_and_deleted_through_the_api_on_a_201_station(server, pki):
    cert_file, _, ca = pki
    session = AdminSession(server)
    facts = facts_of(ca)
    hash_data = {
        "hash_algorithm": "SHA256", "issuer_name_hash": facts.issuer_name_hash,
        "issuer_key_hash": facts.issuer_key_hash, "serial_number": facts.serial_number,
    }  # fmt: skip

    def inventory() -> list[tuple]:
        return server.query(
            "SELECT k.use, k.source FROM sites_chargercertificate k JOIN sites_charger c ON c.id = k.charger_id "
            "WHERE c.charge_point_id = %s AND k.use = 'csms_root' ORDER BY k.id",
            (STATION,),
        )

    async def run():
        async with booted(server, STATION, CertificateStoreStation, version="2.0.1") as role:
            body = {"intent": "install_certificate", "use": "csms_root", "certificate": cert_file.read_text()}
            installed = await settled_command(session, STATION, body)
            after_install = inventory()
            listed = await settled_command(session, STATION, {"intent": "get_installed_certificate_ids"})
            after_listing = inventory()
            deleted = await settled_command(
                session, STATION, {"intent": "delete_certificate", "certificate": hash_data}
            )
            return installed, after_install, listed, after_listing, deleted, inventory(), role.asked

    installed, after_install, listed, after_listing, deleted, after_delete, asked = asyncio.run(run())
    assert (installed["status"], installed["action"]) == ("accepted", "InstallCertificate")
    assert asked[0] == ("InstallCertificate", {"certificate_type": "CSMSRootCertificate"})
    assert after_install == [("csms_root", "installed")]
    assert (listed["status"], listed["action"]) == ("accepted", "GetInstalledCertificateIds")
    assert after_listing == [("csms_root", "installed")]  # the reported one is the one we installed
    assert (deleted["status"], deleted["action"]) == ("accepted", "DeleteCertificate")
    assert after_delete == []
    status, listed_by_api = session.api("GET", f"/api/v1/chargers/{STATION}/certificates")
    assert status == 200
    assert [row["use"] for row in listed_by_api["results"] if row["use"] == "csms_root"] == []
