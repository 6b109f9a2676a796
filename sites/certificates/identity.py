"""Who a charger's certificate must name (1.6 security whitepaper A00.FR.404/405, 2.0.1
A00.FR.404/405 and A02/A03): the CPO in O (organizationName) and the charger in CN
(commonName). One rule for the client certificate of a profile-3 connection and for the CSR
a charger sends to have its certificate signed."""

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from sites.models import Charger


@dataclass(frozen=True, slots=True)
class ChargerIdentity:
    """What a certificate of this charger must say: O = `operator_name`, and CN = the charge
    point id or the serial number the charger reported at boot (the whitepaper names the
    serial number, OCPP-J identifies the charger by its id: either is accepted)."""

    operator_name: str
    charge_point_id: str
    serial_number: str = ""

    @property
    def common_names(self) -> set[str]:
        return {name for name in (self.charge_point_id, self.serial_number) if name}


def identity_of(charger: Charger) -> ChargerIdentity:
    """The identity of a charger (its site and organization loaded by the caller, or here)."""
    organization = charger.site.organization
    return ChargerIdentity(
        operator_name=organization.operator_name or organization.name,
        charge_point_id=charger.charge_point_id,
        serial_number=charger.serial_number,
    )


def subject_problems(subject: x509.Name, identity: ChargerIdentity) -> list[str]:
    """Why a certificate or CSR with this subject does not belong to the charger (empty: it
    does). Exactly one O and one CN, equal to what `identity` says."""
    problems = []
    organizations = [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    common_names = [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if organizations != [identity.operator_name]:
        shown = ", ".join(map(str, organizations)) or "none"
        problems.append(f"O (organizationName) must be {identity.operator_name!r}, not {shown}")
    if len(common_names) != 1 or common_names[0] not in identity.common_names:
        shown = ", ".join(map(str, common_names)) or "none"
        wanted = " or ".join(repr(name) for name in sorted(identity.common_names))
        problems.append(f"CN (commonName) must be {wanted}, not {shown}")
    return problems
