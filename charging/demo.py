"""Demo data for the embedded default (`make run`): one operator, a site, two OCPP 1.6
chargers and an OCPP 2.0.1 station, a few id tokens and an admin user. Idempotent: running it
again changes nothing."""

import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import Membership, Organization, User
from charging.models import IdToken
from sites.models import Charger, OcppVersion, SecurityProfile, Site
from sites.services import issue_charger_key, register_charger

DEMO_ADMIN_EMAIL = "admin@example.com"
# (charge point id, connectors in 1.6 numbering, OCPP version). A 2.0.1 station's connectors
# are numbered per EVSE: they appear as it reports them (StatusNotification).
DEMO_CHARGERS = (
    ("DEMO-CP-001", 2, OcppVersion.V16),
    ("DEMO-CP-002", 1, OcppVersion.V16),
    ("DEMO-CS-201", 0, OcppVersion.V201),
)
DEMO_ID_TAGS = (
    ("DEMO-TAG-001", IdToken.Status.ACCEPTED, "Alice Driver"),
    ("DEMO-TAG-002", IdToken.Status.ACCEPTED, "Bob Driver"),
    ("DEMO-TAG-BLOCKED", IdToken.Status.BLOCKED, "Lost card"),
)


@dataclass
class DemoCredentials:
    admin_email: str
    admin_password: str | None  # None: the admin already existed, password unchanged
    charger_keys: dict[str, str] = field(default_factory=dict)  # only keys issued this run


@transaction.atomic
def seed_demo_data() -> DemoCredentials:
    organization, _ = Organization.objects.get_or_create(
        slug="demo-charging", defaults={"name": "Demo Charging Co", "kind": Organization.Kind.OPERATOR}
    )
    site, _ = Site.objects.get_or_create(
        organization=organization,
        name="Demo Depot",
        defaults={
            "address": "Alexanderplatz 1",
            "city": "Berlin",
            "postal_code": "10178",
            "country": "DE",
            "latitude": Decimal("52.521918"),
            "longitude": Decimal("13.413215"),
            "timezone": "Europe/Berlin",
        },
    )
    credentials = DemoCredentials(admin_email=DEMO_ADMIN_EMAIL, admin_password=None)
    for charge_point_id, connector_count, version in DEMO_CHARGERS:
        charger = Charger.objects.filter(charge_point_id=charge_point_id).first()
        if charger is None:
            charger = register_charger(
                site=site,
                charge_point_id=charge_point_id,
                connector_count=connector_count,
                vendor="DemoVendor",
                model="DemoModel",
                security_profile=SecurityProfile.BASIC,
                ocpp_version=version,
                preferred_ocpp_version=version,
            )
        if not charger.has_auth_key:
            credentials.charger_keys[charge_point_id] = issue_charger_key(charger=charger)
    for id_tag, status, holder in DEMO_ID_TAGS:
        IdToken.objects.get_or_create(
            organization=organization, id_tag=id_tag, defaults={"status": status, "holder_name": holder}
        )
    admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
    if admin is None:
        credentials.admin_password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(DEMO_ADMIN_EMAIL, credentials.admin_password, full_name="Demo Admin")
    Membership.objects.get_or_create(user=admin, organization=organization, defaults={"role": Membership.Role.ADMIN})
    return credentials
