"""Certificate management as each version carries it (1.6 security extension sec. 5.2-5.12,
2.0.1 A02/A03, M03-M05): every encoding valid against the version's official schema, answers
decoded to neutral outcomes, raw calls read back, and what a version cannot say refused."""

import pytest

from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16 import codec as v16
from ocpp_gateway.v201 import codec as v201
from sites.commands import CannotEncode
from sites.commands.intents import (
    CertificateHash,
    CertificateSigned,
    CertificateUse,
    DeleteCertificate,
    GetInstalledCertificateIds,
    InstallCertificate,
)
from sites.commands.outcomes import OutcomeStatus

PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
NAMED = CertificateHash(
    hash_algorithm="SHA256", issuer_name_hash="ab" * 32, issuer_key_hash="cd" * 32, serial_number="1f"
)
HASH_DATA = {"hashAlgorithm": "SHA256", "issuerNameHash": "ab" * 32, "issuerKeyHash": "cd" * 32, "serialNumber": "1f"}

CALLS_16 = [
    (CertificateSigned(certificate_chain=PEM + PEM), ("CertificateSigned", {"certificateChain": PEM + PEM})),
    (
        InstallCertificate(use=CertificateUse.CSMS_ROOT, certificate=PEM),
        ("InstallCertificate", {"certificateType": "CentralSystemRootCertificate", "certificate": PEM}),
    ),
    (
        InstallCertificate(use=CertificateUse.MANUFACTURER_ROOT, certificate=PEM),
        ("InstallCertificate", {"certificateType": "ManufacturerRootCertificate", "certificate": PEM}),
    ),
    (DeleteCertificate(certificate=NAMED), ("DeleteCertificate", {"certificateHashData": HASH_DATA})),
    (
        GetInstalledCertificateIds(uses=(CertificateUse.CSMS_ROOT,)),
        ("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"}),
    ),
]
CALLS_201 = [
    (
        CertificateSigned(certificate_chain=PEM),
        ("CertificateSigned", {"certificateChain": PEM, "certificateType": "ChargingStationCertificate"}),
    ),
    (
        CertificateSigned(certificate_chain=PEM, use=CertificateUse.V2G),
        ("CertificateSigned", {"certificateChain": PEM, "certificateType": "V2GCertificate"}),
    ),
    (
        InstallCertificate(use=CertificateUse.V2G_ROOT, certificate=PEM),
        ("InstallCertificate", {"certificateType": "V2GRootCertificate", "certificate": PEM}),
    ),
    (
        InstallCertificate(use=CertificateUse.CSMS_ROOT, certificate=PEM),
        ("InstallCertificate", {"certificateType": "CSMSRootCertificate", "certificate": PEM}),
    ),
    (DeleteCertificate(certificate=NAMED), ("DeleteCertificate", {"certificateHashData": HASH_DATA})),
    (GetInstalledCertificateIds(), ("GetInstalledCertificateIds", {})),
    (
        GetInstalledCertificateIds(uses=(CertificateUse.MO_ROOT, CertificateUse.V2G_CHAIN)),
        ("GetInstalledCertificateIds", {"certificateType": ["MORootCertificate", "V2GCertificateChain"]}),
    ),
]


@pytest.mark.parametrize(("intent", "call"), CALLS_16)
def test_16_encodes_certificate_calls_valid_against_its_schemas(intent, call):
    assert v16.encode(intent) == call
    validate_call_payload("ocpp1.6", *call, message_id="m")
    assert v16.read(*call) == intent


@pytest.mark.parametrize(("intent", "call"), CALLS_201)
def test_201_encodes_certificate_calls_valid_against_its_schemas(intent, call):
    assert v201.encode(intent) == call
    validate_call_payload("ocpp2.0.1", *call, message_id="m")
    assert v201.read(*call) == intent


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (CertificateSigned(certificate_chain=PEM, use=CertificateUse.V2G), "signs only"),
        (InstallCertificate(use=CertificateUse.V2G_ROOT, certificate=PEM), "no certificate use"),
        (GetInstalledCertificateIds(), "exactly one use"),
        (GetInstalledCertificateIds(uses=(CertificateUse.CSMS_ROOT, CertificateUse.MANUFACTURER_ROOT)), "exactly one"),
    ],
)
def test_16_refuses_what_it_cannot_say(intent, message):
    with pytest.raises(CannotEncode, match=message):
        v16.encode(intent)


def test_201_refuses_a_root_it_cannot_install():
    with pytest.raises(CannotEncode):
        v201.encode(InstallCertificate(use=CertificateUse.V2G_CHAIN, certificate=PEM))


def test_16_installed_ids_are_decoded_with_the_use_asked_for():
    intent = GetInstalledCertificateIds(uses=(CertificateUse.CSMS_ROOT,))
    outcome = v16.decode(intent, {"status": "Accepted", "certificateHashData": [HASH_DATA]})
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert outcome.data["certificates"] == [
        {"use": "csms_root", "hash_algorithm": "SHA256", "issuer_name_hash": "ab" * 32,
         "issuer_key_hash": "cd" * 32, "serial_number": "1f"},
    ]  # fmt: skip
    not_found = v16.decode(intent, {"status": "NotFound"})
    assert (not_found.status, not_found.detail) == (OutcomeStatus.REJECTED, "NotFound")


def test_201_installed_ids_are_decoded_per_chain_with_their_type():
    reply = {
        "status": "Accepted",
        "certificateHashDataChain": [
            {"certificateType": "CSMSRootCertificate", "certificateHashData": HASH_DATA},
            {
                "certificateType": "V2GCertificateChain",
                "certificateHashData": {**HASH_DATA, "serialNumber": "2"},
                "childCertificateHashData": [{**HASH_DATA, "serialNumber": "3"}],
            },
        ],
    }
    outcome = v201.decode(GetInstalledCertificateIds(), reply)
    assert [(c["use"], c["serial_number"]) for c in outcome.data["certificates"]] == [
        ("csms_root", "1f"), ("v2g_chain", "2"), ("v2g_chain", "3"),
    ]  # fmt: skip


@pytest.mark.parametrize("codec", [v16, v201])
@pytest.mark.parametrize(
    ("word", "status"), [("Accepted", OutcomeStatus.ACCEPTED), ("Rejected", OutcomeStatus.REJECTED)]
)
def test_certificate_signed_answers(codec, word, status):
    assert codec.decode(CertificateSigned(certificate_chain=PEM), {"status": word}).status is status
