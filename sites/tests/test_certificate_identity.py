"""Who a charger's certificate must name: O = the CPO, CN = the charger (whitepaper A00.FR.404/405)."""

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from sites.certificates.identity import ChargerIdentity, identity_of, subject_problems
from sites.services import register_charger
from sites.tests.factories import SiteFactory

IDENTITY = ChargerIdentity(operator_name="Volt Operator", charge_point_id="CP-1", serial_number="SN-42")


def _subject(**attributes: str | list[str]) -> x509.Name:
    oids = {"O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    names = []
    for key, values in attributes.items():
        for value in [values] if isinstance(values, str) else values:
            names.append(x509.NameAttribute(oids[key], value))
    return x509.Name(names)


@pytest.mark.parametrize("common_name", ["CP-1", "SN-42"])
def test_the_charge_point_id_or_the_serial_number_in_cn(common_name):
    assert subject_problems(_subject(O="Volt Operator", CN=common_name, OU="any"), IDENTITY) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (_subject(O="Other CPO", CN="CP-1"), ["O (organizationName) must be 'Volt Operator', not Other CPO"]),
        (_subject(CN="CP-1"), ["O (organizationName) must be 'Volt Operator', not none"]),
        (_subject(O="Volt Operator", CN="CP-2"), ["CN (commonName) must be 'CP-1' or 'SN-42', not CP-2"]),
        (
            _subject(O="Volt Operator", CN=["CP-1", "CP-2"]),
            ["CN (commonName) must be 'CP-1' or 'SN-42', not CP-1, CP-2"],
        ),
        (
            _subject(O=["Volt Operator", "X"], CN="CP-1"),
            ["O (organizationName) must be 'Volt Operator', not Volt Operator, X"],
        ),
    ],
)
def test_anything_else_is_a_problem_named(subject, expected):
    assert subject_problems(subject, IDENTITY) == expected


@pytest.mark.django_db
def test_the_operator_name_defaults_to_the_organization_name():
    charger = register_charger(site=SiteFactory(), charge_point_id="CP-ID-1", connector_count=0)
    organization = charger.site.organization
    assert identity_of(charger).operator_name == organization.name
    organization.operator_name = "CPO Name"
    organization.save()
    charger.refresh_from_db()
    assert identity_of(charger) == ChargerIdentity("CPO Name", "CP-ID-1", "")
