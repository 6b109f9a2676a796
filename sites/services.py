"""Writes for sites, chargers and connectors."""

from django.db import transaction

from sites.credentials import generate_charger_key, hash_charger_key
from sites.models import Charger, Connector, Site


@transaction.atomic
def ensure_connectors(*, charger: Charger, count: int) -> list[Connector]:
    """Make sure connectors 1..count exist (1.6 numbering); never deletes any."""
    existing = set(charger.connectors.filter(evse_id__isnull=True).values_list("connector_id", flat=True))
    Connector.objects.bulk_create(
        [Connector(charger=charger, connector_id=number) for number in range(1, count + 1) if number not in existing]
    )
    return list(charger.connectors.order_by("connector_id"))


@transaction.atomic
def register_charger(*, site: Site, charge_point_id: str, connector_count: int = 1, **fields) -> Charger:
    charger = Charger(site=site, charge_point_id=charge_point_id, **fields)
    charger.full_clean()
    charger.save()
    ensure_connectors(charger=charger, count=connector_count)
    return charger


@transaction.atomic
def issue_charger_key(*, charger: Charger) -> str:
    """Give the charger a new random HTTP Basic key; return it in clear, exactly once."""
    key = generate_charger_key()
    charger.auth_key_hash = hash_charger_key(key)
    charger.save(update_fields=["auth_key_hash"])
    return key
