"""Two tenants with one row of every tenant model each, for isolation tests."""

from django.utils import timezone

from accounts.api_clients import create_api_client
from accounts.models import Membership, Organization
from accounts.services import record_change
from accounts.tests.factories import UserFactory
from billing.models import SessionCost, Tariff, TariffAssignment
from charging.models import ChargingProfile, ChargingProfileAssignment, Reservation, UnmatchedStop
from charging.tests.factories import IdTokenFactory, MeterValueFactory
from integrations.models import WebhookDelivery, WebhookSubscription
from ocpp_gateway.models import MessageLog
from reports.models import Alert, AlertSubscription, ReportExport
from sites.models import (
    ChargerCertificate,
    ChargerReport,
    Command,
    CommandBatch,
    ConfigurationKey,
    ConnectionEvent,
    DeviceEvent,
    DeviceReport,
    DeviceVariable,
    SecurityEvent,
    StatusNotificationRecord,
    VariableMonitor,
)
from sites.sharing import share_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory


def populate(organization: Organization, prefix: str) -> dict:
    """One row of every tenant model in `organization`."""
    now = timezone.now()
    site = SiteFactory(organization=organization, name=f"{prefix} site")
    charger = ChargerFactory(site=site, charge_point_id=f"{prefix}-CP")
    connector = ConnectorFactory(charger=charger)
    token = IdTokenFactory(organization=organization, id_tag=f"{prefix}-TAG")
    meter_value = MeterValueFactory(session__connector=connector)
    StatusNotificationRecord.objects.create(
        charger=charger, connector_id=1, status="Available", error_code="NoError", timestamp=now
    )
    ChargerReport.objects.create(charger=charger, kind="firmware", status="Installed")
    ConnectionEvent.objects.create(charger=charger, kind="online", at=now, reason="connected")
    security_event = SecurityEvent.objects.create(charger=charger, charge_point_id=charger.charge_point_id, kind="Test")
    ChargerCertificate.objects.create(
        charger=charger, use="csms_root", source="reported", issuer_name_hash="ab", issuer_key_hash="cd",
        serial_number=f"{prefix}1",
    )  # fmt: skip
    UnmatchedStop.objects.create(charger=charger, transaction_id=-1, stopped_at=now, meter_stop_wh=1)
    Command.objects.create(charger=charger, action="Reset", expires_at=now)
    ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    device_model_rows(charger)
    Reservation.objects.create(charger=charger, id_token=token, expires_at=now)
    profile = ChargingProfile.objects.create(
        organization=organization, name=f"{prefix} cap", periods=[{"startPeriod": 0, "limit": 1}]
    )
    profile_assignment = ChargingProfileAssignment.objects.create(
        profile=profile, charger=charger, status=ChargingProfileAssignment.Status.ACCEPTED
    )
    MessageLog.objects.create(charge_point_id=charger.charge_point_id, direction="in", message_type=2, timestamp=now)
    record_change(actor=None, verb="created", obj=site, via="system")
    tariff = Tariff.objects.create(organization=organization, name=f"{prefix} tariff")
    tariff_assignment = TariffAssignment.objects.create(tariff=tariff, organization=organization)
    cost = SessionCost.objects.create(session=meter_value.session, tariff=tariff, currency="EUR", net=1, vat=0, total=1)
    partner = Organization.objects.create(name=f"{prefix} partner", slug=f"{prefix.lower()}-partner", kind="partner")
    share_charger(charger=charger, partner=partner)
    alert = Alert.objects.create(
        organization=organization,
        kind="charger_offline",
        subject=f"offline:{charger.pk}:0",
        charger=charger,
        summary=f"{prefix} offline",
    )
    watcher = UserFactory(email=f"{prefix.lower()}-watcher@example.com")
    Membership.objects.create(user=watcher, organization=organization, role="viewer")
    AlertSubscription.objects.create(organization=organization, user=watcher)
    create_api_client(organization=organization, name=f"{prefix} CMS", scopes=["read"], by=None)
    batch = CommandBatch.objects.create(organization=organization, intent="reset", charger_ids=[charger.pk])
    webhook = WebhookSubscription.objects.create(
        organization=organization, url="https://hooks.example.com/x", secret="s"
    )
    delivery = WebhookDelivery.objects.create(
        subscription=webhook, event_id="e-1", event_type="charger.connected", body={}
    )
    # Finished, so its download route is refused for the tenant, not for a missing file.
    export = ReportExport.objects.create(
        organization=organization, format="csv", status="done", file=f"reports/{organization.pk}/sessions-test.csv"
    )
    return {
        "security_event": security_event,
        "site": site,
        "charger": charger,
        "session": meter_value.session,
        "token": token,
        "reservation": Reservation.objects.get(charger=charger),
        "profile": profile,
        "profile_assignment": profile_assignment,
        "command": Command.objects.get(charger=charger),
        "cost": cost,
        "export": export,
        "tariff": tariff,
        "tariff_assignment": tariff_assignment,
        "alert": alert,
        "batch": batch,
        "webhook": webhook,
        "delivery": delivery,
    }


def device_model_rows(charger) -> None:
    """One row of each 2.0.1 device-model table (sites.device_model) for `charger`."""
    now = timezone.now()
    report = DeviceReport.objects.create(charger=charger, request_id=1, generated_at=now, complete=True)
    DeviceVariable.objects.create(
        charger=charger, component_name="OCPPCommCtrlr", variable_name="HeartbeatInterval", value="300",
        report=report, reported_at=now,
    )  # fmt: skip
    VariableMonitor.objects.create(
        charger=charger, monitor_id=1, component_name="EVSE", variable_name="Power", monitor_type="Delta",
        severity=5, value=100, transaction=False, reported_at=now,
    )  # fmt: skip
    DeviceEvent.objects.create(
        charger=charger, event_id=1, timestamp=now, trigger="Alerting", actual_value="true",
        notification_type="HardWiredNotification", component_name="ChargingStation", variable_name="Problem",
        generated_at=now, problem=True,
    )  # fmt: skip
