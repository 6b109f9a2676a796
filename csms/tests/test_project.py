"""Project-level checks: migrations in sync, deploy checks under production settings, demo data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from charging.demo import DEMO_ADMIN_EMAIL, seed_demo_data
from charging.models import IdToken
from sites.credentials import verify_charger_key
from sites.models import Charger

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_migrations_are_in_sync_with_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_check_deploy_passes_under_production_settings(tmp_path):
    environment = {
        **os.environ,
        "PRODUCTION": "1",
        "SECRET_KEY": "x9" * 32 + "-production-key-for-the-deploy-check",
        "ALLOWED_HOSTS": "csms.example.com",
        "DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    environment.update({"PRODUCTION": "1", "DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_demo_data_is_complete_and_idempotent():
    first = seed_demo_data()
    second = seed_demo_data()
    assert first.admin_password
    assert second.admin_password is None
    assert second.charger_keys == {}
    assert User.objects.get(email=DEMO_ADMIN_EMAIL).check_password(first.admin_password)
    chargers = Charger.objects.order_by("charge_point_id")
    assert [c.charge_point_id for c in chargers] == ["DEMO-CP-001", "DEMO-CP-002", "DEMO-CS-201"]
    # A 2.0.1 station's connectors (numbered per EVSE) appear as it reports them.
    assert [c.connectors.count() for c in chargers] == [2, 1, 0]
    assert [(c.ocpp_version, c.preferred_ocpp_version) for c in chargers] == [
        ("1.6", "1.6"),
        ("1.6", "1.6"),
        ("2.0.1", "2.0.1"),
    ]
    for charger in chargers:
        assert verify_charger_key(first.charger_keys[charger.charge_point_id], charger.auth_key_hash)
    assert IdToken.objects.count() == 3


@pytest.mark.django_db
def test_seed_demo_command_prints_credentials_and_keeps_them_private(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo")
    printed = capsys.readouterr().out
    stored = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert f"{DEMO_ADMIN_EMAIL} / {stored['admin_password']}" in printed
    assert stored["charger_keys"]["DEMO-CP-001"] in printed
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_seed_demo_prints_the_address_it_is_served_on(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", "--port", "8765")  # `make run PORT=8765`
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8765/admin/" in printed
    assert "ws://127.0.0.1:8765/ocpp/DEMO-CP-001" in printed
    assert ":8000" not in printed
