"""A command's job followed to its end (sites.commands.progress): log uploads (N01) and firmware
updates (L01) keep the request id the charger's status notifications repeat (N01.FR.07,
L01.FR.10), each notification links to its command, and signature or certificate failures raise
security events for operators."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from sites.command_forms import COMMAND_FORMS
from sites.commands import intent_of, request_command
from sites.commands.intents import GetDiagnostics, GetLog, LogType, Reset, UpdateFirmware
from sites.commands.progress import latest_job_status, latest_job_statuses, record_job_status
from sites.models import ChargerReport, Command, SecurityEvent
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command, rejected

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _log(**fields) -> GetLog:
    return GetLog(location="https://logs.example.com/up", log_type=LogType.SECURITY, **fields)


def _signed(location: str = "https://fw.example.com/f.bin", **fields) -> UpdateFirmware:
    return UpdateFirmware(location=location, retrieve_at=AT, signing_certificate=PEM, signature="c2ln", **fields)


def test_a_log_upload_gets_a_request_id_of_its_own_and_keeps_one_given():
    charger = ChargerFactory()
    command = request_command(charger=charger, intent=_log())
    assert command.request_id == command.pk
    assert intent_of(command) == _log(request_id=command.pk)  # what the codec encodes, retry after retry
    given = request_command(charger=charger, intent=_log(request_id=77))
    assert (given.request_id, given.fields["request_id"]) == (77, 77)
    # Commands without a job reported later have none.
    assert request_command(charger=charger, intent=Reset()).request_id is None


def test_status_notifications_find_their_command_by_request_id_on_their_charger_only():
    charger, other = ChargerFactory(), ChargerFactory()
    command = request_command(charger=charger, intent=_log())
    others = request_command(charger=other, intent=_log(request_id=command.request_id))
    for status in ("Uploading", "Uploaded"):
        record_job_status(
            charger_id=charger.pk, kind=ChargerReport.Kind.LOG, status=status, request_id=command.request_id,
            received_at=timezone.now(),
        )  # fmt: skip
    assert [report.command_id for report in ChargerReport.objects.filter(charger=charger)] == [command.pk] * 2
    report = latest_job_status(command)
    assert report is not None
    assert report.status == "Uploaded"
    assert latest_job_status(others) is None
    assert latest_job_statuses(charger)[ChargerReport.Kind.LOG].status == "Uploaded"


def test_a_status_naming_no_known_request_is_kept_unlinked():
    charger = ChargerFactory()
    request_command(charger=charger, intent=_log())
    idle = record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.LOG, status="Idle", request_id=None, received_at=timezone.now()
    )
    stray = record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.LOG, status="Uploaded", request_id=999999,
        received_at=timezone.now(),
    )  # fmt: skip
    assert (idle.command_id, stray.command_id) == (None, None)


def test_a_firmware_status_is_linked_only_to_a_firmware_command():
    charger = ChargerFactory()
    log = request_command(charger=charger, intent=_log(request_id=5))
    firmware = request_command(charger=charger, intent=_signed(request_id=5))
    report = record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.FIRMWARE, status="Downloading", request_id=5,
        received_at=timezone.now(),
    )  # fmt: skip
    assert report.command_id == firmware.pk
    assert latest_job_status(log) is None


def test_an_invalid_firmware_signature_is_a_critical_security_event():
    charger = ChargerFactory()
    command = request_command(charger=charger, intent=_signed())
    record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.FIRMWARE, status="InvalidSignature",
        request_id=command.request_id, received_at=timezone.now(),
    )  # fmt: skip
    event = SecurityEvent.objects.get()
    assert (event.charger_id, event.charge_point_id, event.kind, event.severity) == (
        charger.pk, charger.charge_point_id, "InvalidFirmwareSignature", SecurityEvent.Severity.CRITICAL,
    )  # fmt: skip
    assert event.detail == {
        "status": "InvalidSignature", "request_id": command.request_id, "command": command.pk,
        "source": "firmware status",
    }  # fmt: skip


def test_ordinary_firmware_progress_raises_nothing():
    charger = ChargerFactory()
    command = request_command(charger=charger, intent=_signed())
    for status in ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"):
        record_job_status(
            charger_id=charger.pk, kind=ChargerReport.Kind.FIRMWARE, status=status, request_id=command.request_id,
            received_at=timezone.now(),
        )  # fmt: skip
    assert not SecurityEvent.objects.exists()


@pytest.mark.parametrize(
    ("word", "event"),
    [
        ("InvalidCertificate", "InvalidFirmwareSigningCertificate"),
        ("RevokedCertificate", "RevokedFirmwareSigningCertificate"),
    ],
)
def test_a_signing_certificate_the_charger_refuses_is_a_security_event(word, event):
    charger = ChargerFactory()
    command = answer_command(request_command(charger=charger, intent=_signed()), rejected(word))
    assert command.status == "rejected"
    assert SecurityEvent.objects.get().kind == event
    # An ordinary refusal is none.
    answer_command(request_command(charger=charger, intent=_signed(request_id=3)), rejected("Rejected"))
    assert SecurityEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (GetLog(location="http://10.0.0.5/upload"), "location: URLs to loopback, private"),
        (GetLog(location="file:///etc/passwd"), "location: Only http"),
        (
            GetLog(location="https://logs.example.com", log_type="audit"),
            "log type 'audit'; one of: diagnostics, security",
        ),
        (
            UpdateFirmware(location="https://fw.example.com/f.bin", retrieve_at=AT, signature="c2ln"),
            "both the signing certificate and the signature",
        ),
        (
            UpdateFirmware(
                location="https://fw.example.com/f.bin", retrieve_at=AT, signature="c2ln", signing_certificate="MII"
            ),
            "PEM",
        ),
        (_signed(location="http://169.254.169.254/latest"), "location: URLs to loopback"),
    ],
)
def test_the_port_refuses_bad_locations_log_types_and_half_signed_updates(intent, message):
    with pytest.raises(ValidationError, match=message):
        request_command(charger=ChargerFactory(), intent=intent)
    assert not Command.objects.exists()


def _operator(charger) -> APIClient:
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_queues_a_log_upload_and_shows_its_latest_status_on_the_command_and_the_charger():
    charger = ChargerFactory(charge_point_id="LOG-1")
    client = _operator(charger)
    body = {"intent": "get_log", "log_type": "security", "location": "https://logs.example.com/up"}
    queued = client.post("/api/v1/chargers/LOG-1/commands", body, format="json")
    assert queued.status_code == 202, queued.json()
    command_id = queued.json()["id"]
    assert queued.json()["request_id"] == command_id
    assert queued.json()["job_status"] is None
    record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.LOG, status="Uploading", request_id=command_id,
        received_at=AT,
    )  # fmt: skip
    shown = client.get(f"/api/v1/commands/{command_id}").json()["job_status"]
    assert shown == {
        "kind": "log", "status": "Uploading", "request_id": command_id, "command": command_id,
        "received_at": AT.isoformat(),
    }  # fmt: skip
    jobs = client.get("/api/v1/chargers/LOG-1").json()["jobs"]
    assert jobs["log"]["status"] == "Uploading"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"intent": "get_log", "location": "ftp://192.168.1.10/"}, "non_field_errors", "private"),
        ({"intent": "get_log", "location": "https://l.example", "log_type": "x"}, "non_field_errors", "log type 'x'"),
        (
            {"intent": "update_firmware", "location": "https://f.example.com/f", "retrieve_at": "2026-03-01T00:00:00Z",
             "signature": "c2ln"},
            "non_field_errors", "both the signing certificate and the signature",
        ),
    ],
)  # fmt: skip
def test_the_api_refuses_them_with_a_clear_400(body, field, message):
    charger = ChargerFactory(charge_point_id="LOG-2")
    response = _operator(charger).post("/api/v1/chargers/LOG-2/commands", body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field]), response.json()


# --- Admin forms ------------------------------------------------------------------------------


def test_the_log_upload_form_makes_the_intent_and_refuses_private_addresses_and_backward_periods():
    form_class = COMMAND_FORMS["get_log"]
    form = form_class({"log_type": "security", "location": "sftp://logs.example.com/in/", "oldest": "2026-03-01 00:00"})
    assert form.is_valid(), form.errors
    assert form.intent() == GetLog(
        location="sftp://logs.example.com/in/", log_type=LogType.SECURITY, oldest=form.cleaned_data["oldest"]
    )
    private = form_class({"log_type": "diagnostics", "location": "ftp://10.1.2.3/"})
    assert not private.is_valid()
    assert "private" in " ".join(private.errors["location"])
    backward = form_class(
        {"log_type": "diagnostics", "location": "https://l.example.com", "oldest": "2026-03-02", "latest": "2026-03-01"}
    )
    assert not backward.is_valid()
    assert "latest" in backward.errors


def test_the_firmware_form_takes_a_signed_update_whole_or_not_at_all():
    form_class = COMMAND_FORMS["update_firmware"]
    signed = form_class({"location": "https://fw.example.com/f.bin", "signing_certificate": PEM, "signature": "c2ln"})
    assert signed.is_valid(), signed.errors
    intent = signed.intent()
    assert isinstance(intent, UpdateFirmware)
    assert (intent.signing_certificate, intent.signature, intent.signed) == (PEM, "c2ln", True)
    half = form_class({"location": "https://fw.example.com/f.bin", "signature": "c2ln"})
    assert not half.is_valid()
    assert "both the signing certificate and the signature" in " ".join(half.non_field_errors())
    not_pem = form_class(
        {"location": "https://fw.example.com/f.bin", "signing_certificate": "MII", "signature": "c2ln"}
    )
    assert not not_pem.is_valid()
    assert "PEM" in " ".join(not_pem.errors["signing_certificate"])


def test_the_new_triggers_are_offered():
    choices = dict(COMMAND_FORMS["trigger_message"].base_fields["message"].choices)
    assert {"log_status", "sign_certificate", "signed_firmware_status"} <= set(choices)


def test_the_admin_sends_a_log_upload_and_shows_its_status_on_the_command_and_the_charger(admin_client):
    charger = ChargerFactory()
    send = reverse("admin:sites_charger_send_command", args=[charger.pk])
    refused = admin_client.post(
        send + "?intent=get_log", {"command_intent": "get_log", "log_type": "security", "location": "ftp://10.0.0.1/"}
    )
    assert refused.status_code == 200
    assert "location" in refused.context["form"].errors
    fields = {"command_intent": "get_log", "log_type": "security", "location": "https://logs.example.com/up"}
    assert admin_client.post(send + "?intent=get_log", fields).status_code == 302
    command = Command.objects.get()
    record_job_status(
        charger_id=charger.pk, kind=ChargerReport.Kind.LOG, status="UploadFailure", request_id=command.request_id,
        received_at=AT,
    )  # fmt: skip
    command_page = admin_client.get(reverse("admin:sites_command_change", args=[command.pk]))
    assert command_page.status_code == 200
    assert "UploadFailure (1 Mar 2026, 13:00:00 CET)" in command_page.content.decode()
    charger_page = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert f"Log upload: UploadFailure at 1 Mar 2026, 13:00:00 CET (command #{command.pk})" in charger_page


def test_a_16_core_status_naming_no_request_is_about_the_newest_accepted_job_of_its_kind():
    charger = ChargerFactory()
    older = answer_command(request_command(charger=charger, intent=GetDiagnostics(location="https://l.example.com/a")))
    newer = answer_command(request_command(charger=charger, intent=GetDiagnostics(location="https://l.example.com/b")))
    answer_command(
        request_command(charger=charger, intent=GetDiagnostics(location="https://l.example.com/c")), rejected()
    )

    def report(status: str) -> ChargerReport:
        return record_job_status(
            charger_id=charger.pk, kind=ChargerReport.Kind.DIAGNOSTICS, status=status, received_at=timezone.now(),
            newest_when_unnamed=True,
        )  # fmt: skip

    assert report("Uploading").command_id == newer.pk != older.pk
    assert report("Idle").command_id is None  # a charger with nothing going on speaks of no command
