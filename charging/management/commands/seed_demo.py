import json

from django.conf import settings
from django.core.management.base import BaseCommand

from charging.demo import seed_demo_data


class Command(BaseCommand):
    help = "Create the demo organization, site, chargers, id tokens and admin user (idempotent)."

    def add_arguments(self, parser) -> None:
        # Only for the addresses printed: `make run` passes the host and port it serves on.
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options) -> None:
        address = f"{options['host']}:{options['port']}"
        credentials = seed_demo_data()
        # Secrets are shown once, when issued, and kept in the local data directory (not in
        # the repository) so later runs of `make run` can print them again.
        store = settings.DATA_DIR / "demo-credentials.json"
        saved = json.loads(store.read_text()) if store.exists() else {}
        if credentials.admin_password:
            saved["admin_password"] = credentials.admin_password
        saved.setdefault("charger_keys", {}).update(credentials.charger_keys)
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(saved, indent=2))
        store.chmod(0o600)

        password = saved.get("admin_password", "(unchanged; use `manage.py changepassword`)")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Admin:  http://{address}/admin/  {credentials.admin_email} / {password}")
        for charge_point_id, key in sorted(saved["charger_keys"].items()):
            self.stdout.write(f"  Charger {charge_point_id}: ws://{address}/ocpp/{charge_point_id}  key {key}")
