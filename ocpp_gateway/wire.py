"""What both versions' codecs write and read alike: an OCPP dateTime, optional fields left out
rather than sent as null (OCPP 1.6 sec. 7 and 2.0.1 part 2, 2.1 "Primitive datatypes"), and the
certificate hash data the 1.6 security extension and 2.0.1 share (CertificateHashDataType)."""

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime

from sites.commands.intents import CertificateHash


def ocpp_datetime(moment: dt.datetime) -> str:
    """dateTime in UTC with a "Z"."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def optional_fields(**values: Any) -> dict[str, Any]:
    """The payload fields that have a value: both versions leave optional fields out, never null."""
    return {name: value for name, value in values.items() if value is not None}


def read_moment(text: Any) -> dt.datetime | None:
    """An optional dateTime of a call read back; one that is there but unreadable makes the call
    unreadable (ValueError)."""
    if text is None:
        return None
    moment = parse_datetime(text) if isinstance(text, str) else None
    if moment is None:
        raise ValueError(f"not a dateTime: {text!r}")
    return moment


def read_required_moment(text: Any) -> dt.datetime:
    moment = read_moment(text)
    if moment is None:
        raise ValueError("a dateTime is required")
    return moment


def certificate_hash_data(named: CertificateHash) -> dict:
    """CertificateHashDataType (whitepaper sec. 6.3; the same fields in 2.0.1)."""
    return {
        "hashAlgorithm": named.hash_algorithm,
        "issuerNameHash": named.issuer_name_hash,
        "issuerKeyHash": named.issuer_key_hash,
        "serialNumber": named.serial_number,
    }


def read_certificate_hash(data: dict) -> CertificateHash:
    return CertificateHash(
        hash_algorithm=data["hashAlgorithm"],
        issuer_name_hash=data["issuerNameHash"],
        issuer_key_hash=data["issuerKeyHash"],
        serial_number=data["serialNumber"],
    )


def installed_certificate(data: dict, use: str) -> dict[str, str]:
    """One CertificateHashDataType of a GetInstalledCertificateIds answer, in neutral words."""
    named = read_certificate_hash(data)
    return {
        "use": use,
        "hash_algorithm": named.hash_algorithm,
        "issuer_name_hash": named.issuer_name_hash,
        "issuer_key_hash": named.issuer_key_hash,
        "serial_number": named.serial_number,
    }
