"""Certificate management, version-neutral (ACCEPTANCE S12; whitepaper A02/A03, M03-M05): a CSR
is checked before it is signed, a refused one is a security event, the built-in CA signs with
files named by settings, issued certificates land in the inventory, renewal is asked once."""

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.db import transaction

from sites.certificates.csr import csr_problems
from sites.certificates.hashdata import facts_of
from sites.certificates.identity import ChargerIdentity
from sites.certificates.services import (
    answer_signing_request,
    apply_certificate_outcome,
    renew_expiring_certificates,
    sign_and_send,
)
from sites.certificates.signing import BuiltinCaSigner
from sites.commands import intent_of
from sites.commands.intents import (
    CertificateHash,
    CertificateSigned,
    DeleteCertificate,
    GetInstalledCertificateIds,
    InstallCertificate,
)
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import ChargerCertificate, Command, SecurityEvent
from sites.security_events import CSR_REJECTED
from sites.services import register_charger
from sites.tests.factories import SiteFactory
from sites.tests.pki import make_ca, make_csr, rsa_key, verify_chain

IDENTITY = ChargerIdentity(operator_name="Volt Operator", charge_point_id="CP-1", serial_number="SN-42")


# --- CSR checks ------------------------------------------------------------------------------


def test_a_good_csr_passes():
    assert csr_problems(make_csr(organization="Volt Operator", common_name="CP-1"), IDENTITY) == []
    rsa = make_csr(organization="Volt Operator", common_name="SN-42", key=rsa_key(2048))
    assert csr_problems(rsa, IDENTITY) == []


@pytest.mark.parametrize(
    ("csr", "expected"),
    [
        (lambda: make_csr(organization="Other CPO", common_name="CP-1"), "O (organizationName)"),
        (lambda: make_csr(organization="Volt Operator", common_name="CP-2"), "CN (commonName)"),
        (lambda: make_csr(organization="Volt Operator", common_name="CP-1", key=rsa_key(1024)), "RSA key of 1024"),
        (lambda: make_csr(organization="Volt Operator", common_name="CP-1", san=["evil.example"]), "SubjectAltern"),
        (lambda: make_csr(organization="Volt Operator", common_name="CP-1", algorithm=hashes.SHA224()), "SHA-256"),
        (lambda: "-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n", "not a PEM"),
        (lambda: "not even PEM", "not a PEM"),
    ],
    ids=["wrong-O", "wrong-CN", "rsa-1024", "extra-SAN", "sha224", "garbage-PEM", "no-PEM"],
)
def test_a_bad_csr_is_refused_with_its_reason(csr, expected):
    pem = csr()
    problems = csr_problems(pem, IDENTITY)
    assert any(expected in problem for problem in problems), problems


def test_a_tampered_csr_fails_its_self_signature():
    pem = make_csr(organization="Volt Operator", common_name="CP-1", key=rsa_key(2048))
    body = pem.splitlines()
    # Flip one character in the middle of the base64 body (the signature or the key).
    middle = len(body) // 2
    line = body[middle]
    body[middle] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    problems = csr_problems("\n".join(body) + "\n", IDENTITY)
    assert problems  # either unreadable or a signature that does not verify


# --- Built-in CA -----------------------------------------------------------------------------


@pytest.fixture
def ca(tmp_path, settings):
    cert_file, key_file, certificate = make_ca(tmp_path)
    settings.OCPP_CA_CERT_FILE, settings.OCPP_CA_KEY_FILE = str(cert_file), str(key_file)
    settings.OCPP_CERTIFICATE_SIGNER = "sites.certificates.signing.BuiltinCaSigner"
    settings.OCPP_CERTIFICATE_VALIDITY_DAYS = 90
    return certificate


def test_the_builtin_ca_signs_a_leaf_for_the_csr(ca):
    from cryptography import x509

    csr = x509.load_pem_x509_csr(make_csr(organization="Volt Operator", common_name="CP-1").encode())
    chain = BuiltinCaSigner().sign(csr)
    leaf = verify_chain(chain, ca)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert leaf.signature_hash_algorithm.name == "sha256"
    assert ExtendedKeyUsageOID.CLIENT_AUTH in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 90
    assert len(x509.load_pem_x509_certificates(chain.encode())) == 2  # leaf + CA


def test_without_a_ca_the_signer_says_why(settings):
    settings.OCPP_CA_CERT_FILE = settings.OCPP_CA_KEY_FILE = ""
    assert "no certificate authority configured" in BuiltinCaSigner().problem()
    assert BuiltinCaSigner().summary() is None


def test_the_ca_summary_shows_public_facts_only(ca):
    summary = BuiltinCaSigner().summary()
    assert summary is not None
    assert summary.subject == "CN=Test Charging Station CA"
    assert summary.fingerprint_sha256 == ca.fingerprint(hashes.SHA256()).hex()


# --- The service -----------------------------------------------------------------------------


@pytest.fixture
def charger(db):
    site = SiteFactory(organization__operator_name="Volt Operator")
    return register_charger(site=site, charge_point_id="CP-1", connector_count=1)


def test_an_accepted_csr_is_signed_after_the_answer_and_sent_as_certificate_signed(
    charger, ca, django_capture_on_commit_callbacks, monkeypatch
):
    from sites.tasks import sign_certificate_task

    # With a broker (CI's PostgreSQL + Redis run) the task would be queued, not run: run it here.
    monkeypatch.setattr(sign_certificate_task, "delay", lambda *args: sign_certificate_task.apply(args=args))
    csr = make_csr(organization="Volt Operator", common_name="CP-1")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert answer_signing_request(charger_id=charger.pk, charge_point_id="CP-1", csr=csr, use="charger")
        assert not Command.objects.exists()  # signed only once the answer is committed
    command = Command.objects.get(charger=charger)
    intent = intent_of(command)
    assert isinstance(intent, CertificateSigned)
    leaf = verify_chain(intent.certificate_chain, ca)
    [row] = ChargerCertificate.objects.filter(charger=charger)
    assert (row.source, row.use, row.serial_number) == ("issued", "charger", format(leaf.serial_number, "x"))
    assert row.not_after == leaf.not_valid_after_utc
    assert "PRIVATE" not in row.certificate_pem


def test_a_bad_csr_is_rejected_and_recorded_as_a_security_event(charger, ca):
    csr = make_csr(organization="Other CPO", common_name="CP-1")
    assert not answer_signing_request(charger_id=charger.pk, charge_point_id="CP-1", csr=csr, use="charger")
    [event] = SecurityEvent.objects.filter(kind=CSR_REJECTED)
    assert event.critical
    assert event.charger_id == charger.pk
    assert "O (organizationName)" in event.detail["reasons"][0]
    assert not Command.objects.exists()


def test_without_a_ca_a_good_csr_is_rejected_too(charger, settings):
    settings.OCPP_CA_CERT_FILE = settings.OCPP_CA_KEY_FILE = ""
    csr = make_csr(organization="Volt Operator", common_name="CP-1")
    assert not answer_signing_request(charger_id=charger.pk, charge_point_id="CP-1", csr=csr, use="charger")
    [event] = SecurityEvent.objects.filter(kind=CSR_REJECTED)
    assert "no certificate authority configured" in event.detail["reasons"][0]


# --- Inventory and renewal -------------------------------------------------------------------


def _settled(charger, intent, status=OutcomeStatus.ACCEPTED, detail="", data=None) -> tuple[Command, Outcome]:
    command = Command.objects.create(
        charger=charger, intent=intent.kind, fields=intent.to_fields(),
        created_at=dt.datetime.now(dt.UTC), expires_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    return command, Outcome(status=status, detail=detail, data=data or {})


def test_installed_listed_and_deleted_certificates_follow_the_answers(charger, ca, tmp_path):
    now = dt.datetime.now(dt.UTC)
    pem = (tmp_path / "ca.pem").read_text()
    install = InstallCertificate(use="csms_root", certificate=pem)
    command, outcome = _settled(charger, install)
    apply_certificate_outcome(command, install, outcome, now)
    [row] = ChargerCertificate.objects.filter(charger=charger)
    assert (row.source, row.use, row.subject) == ("installed", "csms_root", "CN=Test Charging Station CA")
    facts = facts_of(ca)
    assert (row.issuer_name_hash, row.issuer_key_hash) == (facts.issuer_name_hash, facts.issuer_key_hash)

    listing = GetInstalledCertificateIds(uses=("csms_root", "manufacturer_root"))
    reported = [
        {"use": "csms_root", "hash_algorithm": "SHA256", "issuer_name_hash": facts.issuer_name_hash,
         "issuer_key_hash": facts.issuer_key_hash, "serial_number": facts.serial_number.upper()},
        {"use": "manufacturer_root", "hash_algorithm": "SHA256", "issuer_name_hash": "ab", "issuer_key_hash": "cd",
         "serial_number": "99"},
    ]  # fmt: skip
    command, outcome = _settled(charger, listing, data={"certificates": reported})
    apply_certificate_outcome(command, listing, outcome, now)
    assert sorted(ChargerCertificate.objects.values_list("use", "source")) == [
        ("csms_root", "installed"), ("manufacturer_root", "reported"),
    ]  # fmt: skip

    delete = DeleteCertificate(
        certificate=CertificateHash(
            hash_algorithm="SHA256", issuer_name_hash="AB", issuer_key_hash="cd", serial_number="099"
        )
    )
    command, outcome = _settled(charger, delete)
    apply_certificate_outcome(command, delete, outcome, now)
    assert list(ChargerCertificate.objects.values_list("use", flat=True)) == ["csms_root"]
    # NotFound for a use: nothing of it reported is left.
    command, outcome = _settled(charger, listing, OutcomeStatus.REJECTED, "NotFound")
    apply_certificate_outcome(command, listing, outcome, now)
    assert list(ChargerCertificate.objects.values_list("source", flat=True)) == ["installed"]


def test_renewal_is_asked_once_for_an_issued_certificate_about_to_lapse(charger, ca, settings):
    settings.OCPP_CERTIFICATE_RENEW_BEFORE_DAYS = 30
    csr = make_csr(organization="Volt Operator", common_name="CP-1")
    sign_and_send(charger_id=charger.pk, csr=csr, use="charger")
    now = dt.datetime.now(dt.UTC)
    assert renew_expiring_certificates(now=now) == 0  # 90 days left
    later = now + dt.timedelta(days=70)
    assert renew_expiring_certificates(now=later) == 1
    assert renew_expiring_certificates(now=later) == 0  # once per certificate
    trigger = Command.objects.filter(intent="trigger_message").get()
    assert trigger.fields["message"] == "sign_certificate"


# --- Rules of the outbound port ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (InstallCertificate(use="charger", certificate="x"), "use: one of|no certificate use"),
        (InstallCertificate(use="csms_root", certificate="not a certificate"), "PEM-encoded"),
        (GetInstalledCertificateIds(uses=("nonsense",)), "use: one of|no certificate use"),
        (
            DeleteCertificate(
                certificate=CertificateHash(
                    hash_algorithm="MD5", issuer_name_hash="a", issuer_key_hash="b", serial_number="1"
                )
            ),
            "hashAlgorithm|hash_algorithm",
        ),
        (
            DeleteCertificate(
                certificate=CertificateHash(
                    hash_algorithm="SHA256", issuer_name_hash="zz", issuer_key_hash="b", serial_number="1"
                )
            ),
            "hexadecimal",
        ),
    ],
)
def test_the_port_refuses_malformed_certificate_commands(charger, intent, message):
    """Refused by the rules or, first, by the charger's version (its codec and schema)."""
    from django.core.exceptions import ValidationError

    from sites.commands import request_command

    with pytest.raises(ValidationError, match=message):
        request_command(charger=charger, intent=intent)
    assert not Command.objects.exists()


# --- Admin forms ------------------------------------------------------------------------------


def test_the_forms_offer_each_version_its_own_certificate_types(charger, ca, tmp_path):
    from sites.command_forms import command_forms_for

    charger.ocpp_version = "1.6"
    forms16 = command_forms_for(charger)
    charger.ocpp_version = "2.0.1"
    forms201 = command_forms_for(charger)
    assert "certificate_signed" not in forms16  # sent by the system, after a CSR
    install16 = forms16["install_certificate"]({"use": "v2g_root", "certificate": (tmp_path / "ca.pem").read_text()})
    assert not install16.is_valid()
    install201 = forms201["install_certificate"]({"use": "v2g_root", "certificate": (tmp_path / "ca.pem").read_text()})
    assert install201.is_valid(), install201.errors
    assert install201.intent().use == "v2g_root"
    listing16 = forms16["get_installed_certificate_ids"]({"use": "csms_root"})
    assert listing16.is_valid()
    assert listing16.intent() == GetInstalledCertificateIds(uses=("csms_root",))
    delete = forms201["delete_certificate"](
        {"hash_algorithm": "SHA256", "issuer_name_hash": "ab", "issuer_key_hash": "cd", "serial_number": "1f"}
    )
    assert delete.is_valid(), delete.errors
    assert delete.intent().certificate.serial_number == "1f"


# --- Admin ------------------------------------------------------------------------------------


def test_the_admin_shows_the_inventory_and_the_ca_without_private_keys(admin_client, charger, ca):
    from django.urls import reverse

    sign_and_send(charger_id=charger.pk, csr=make_csr(organization="Volt Operator", common_name="CP-1"), use="charger")
    page = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    [row] = ChargerCertificate.objects.filter(charger=charger)
    assert row.serial_number in page
    assert "O=Volt Operator" in page or "CN=CP-1" in page
    assert ca.fingerprint(hashes.SHA256()).hex() in page  # the CA's fingerprint
    assert "PRIVATE KEY" not in page


def test_the_admin_says_when_no_ca_is_configured(admin_client, charger, settings):
    from django.urls import reverse

    settings.OCPP_CA_CERT_FILE = settings.OCPP_CA_KEY_FILE = ""
    page = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert "No certificate authority configured" in page
    assert "OCPP_CA_CERT_FILE" not in page  # the setting is for the logs, not for operators


def test_the_chargers_own_certificate_cannot_be_deleted(charger, ca):
    """M04.FR.05."""
    from django.core.exceptions import ValidationError

    from sites.certificates.services import certificate_hash_of
    from sites.commands import request_command

    sign_and_send(charger_id=charger.pk, csr=make_csr(organization="Volt Operator", common_name="CP-1"), use="charger")
    own = ChargerCertificate.objects.get(charger=charger)
    with pytest.raises(ValidationError, match="own certificate"):
        request_command(charger=charger, intent=DeleteCertificate(certificate=certificate_hash_of(own)))


def test_a_signer_failing_after_the_answer_is_logged_and_recorded(charger, ca, settings, tmp_path):
    (tmp_path / "ca.key").unlink()  # the CA's key gone between the answer and the signing
    csr = make_csr(organization="Volt Operator", common_name="CP-1")
    assert sign_and_send(charger_id=charger.pk, csr=csr, use="charger") is None
    [event] = SecurityEvent.objects.filter(kind=CSR_REJECTED)
    assert event.detail["reasons"][0].startswith("signing failed")
    assert not Command.objects.exists()


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_a_chargers_certificates(charger, ca):
    from rest_framework.test import APIClient

    from accounts.tests.factories import MembershipFactory, UserFactory

    sign_and_send(charger_id=charger.pk, csr=make_csr(organization="Volt Operator", common_name="CP-1"), use="charger")
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/chargers/CP-1/certificates")
    assert response.status_code == 200, response.content
    [listed] = response.json()["results"]
    assert (listed["use"], listed["source"]) == ("charger", "issued")
    assert "PRIVATE" not in response.content.decode()
