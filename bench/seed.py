"""Prepare a fresh database for a benchmark run: migrate, then one organization, one site,
chargers BENCH-00001.. with 1-2 connectors sharing one known key, and id tokens.

Run with the server's environment (DATA_DIR, DATABASE_URL), like `manage.py`:

    python -m bench.seed --chargers 10000 --key <40 hex digits> [--api-password <password>]

With --api-password, also an operator of the organization, API_USER, who may send commands
to every charger through the API (the commands scenario). With --webhook, a webhook
subscription to every event type (`python -m bench --integrations`).

bulk_create throughout (10,000 chargers in seconds): no history rows, no per-row
validation, and one key hash for all chargers. The hash is salted, but `verify_charger_key`
reads the salt from the stored hash, so one salt serves every charger.
"""

import argparse
import os
import secrets
import sys

from bench.chargers import ID_TAGS, charge_point_id, connector_count

BATCH = 2000
API_USER = "bench-operator@example.com"


def seed(chargers: int, key: str, heartbeat_interval: int, api_password: str = "", webhook: bool = False) -> None:
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import Membership, Organization, Role, User
    from charging.models import IdToken
    from sites.credentials import hash_charger_key
    from sites.models import Charger, Connector, SecurityProfile, Site

    call_command("migrate", "--noinput", verbosity=0)
    key_hash = hash_charger_key(key)
    with transaction.atomic():
        organization = Organization.objects.create(
            slug="bench", name="Benchmark Charging", kind=Organization.Kind.OPERATOR
        )
        site = Site.objects.create(organization=organization, name="Benchmark Depot")
        for start in range(1, chargers + 1, BATCH):
            numbers = range(start, min(start + BATCH, chargers + 1))
            created = Charger.objects.bulk_create(
                Charger(
                    site=site,
                    charge_point_id=charge_point_id(number),
                    vendor="Bench",
                    model="Sim",
                    security_profile=SecurityProfile.BASIC,
                    auth_key_hash=key_hash,
                    heartbeat_interval=heartbeat_interval,
                )
                for number in numbers
            )
            Connector.objects.bulk_create(
                Connector(charger=charger, connector_id=connector)
                for charger, number in zip(created, numbers, strict=True)
                for connector in range(1, connector_count(number) + 1)
            )
        IdToken.objects.bulk_create(IdToken(organization=organization, id_tag=tag) for tag in ID_TAGS)
        if api_password:
            # An operator, not a superuser: the API checks the command permission per charger,
            # as it does for a real client.
            user = User.objects.create_user(email=API_USER, password=api_password)
            Membership.objects.create(user=user, organization=organization, role=Role.OPERATOR)
        if webhook:
            subscribe_to_everything(organization)


def subscribe_to_everything(organization) -> None:
    """A webhook subscription to every event type, so the server builds every event and queues
    its delivery. No Celery worker runs in the benchmark: sending is a worker's cost, not the
    gateway's, and the address (reserved .invalid) is never resolved."""
    from integrations.models import WebhookSubscription

    # No event types listed: every type.
    WebhookSubscription.objects.create(
        organization=organization, url="https://cms.bench.invalid/events", secret=secrets.token_hex(16)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--heartbeat", type=int, default=300)
    parser.add_argument("--api-password", default="", help=f"also create {API_USER} (an operator)")
    parser.add_argument("--webhook", action="store_true", help="also a webhook subscription to every event type")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
    import django

    django.setup()
    seed(args.chargers, args.key, args.heartbeat, args.api_password, args.webhook)


if __name__ == "__main__":
    main(sys.argv[1:])
