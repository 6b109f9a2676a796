"""The outbound event vocabulary (integrations.events) as OpenAPI components: one schema per event
type (`ChargerConnectedEvent`, `SessionEndedEvent`, ...) and `Event`, one of them chosen by
`type`. Webhook deliveries' bodies are documented with it, and GET /api/v1/event-types lists the
types. A test checks that every type of EVENT_TYPES has its schema here and that built events
validate against it."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from integrations.events import EVENT_TYPES
from sites.models import RegistrationStatus, SecurityEvent


class ChargerData(serializers.Serializer):
    charge_point_id = serializers.CharField()
    site_id = serializers.IntegerField()


class BootData(ChargerData):
    registration_status = serializers.ChoiceField(choices=RegistrationStatus.choices)
    reason = serializers.CharField(allow_blank=True, help_text="OCPP 2.0.1's boot reason; blank for 1.6.")
    firmware_version = serializers.CharField(allow_blank=True)


class StatusData(ChargerData):
    evse_id = serializers.IntegerField(allow_null=True, help_text="OCPP 2.0.1; null for 1.6.")
    connector_id = serializers.IntegerField(help_text="0: the charger itself.")
    status = serializers.CharField()
    previous_status = serializers.CharField()
    error_code = serializers.CharField()


class SessionStartedData(ChargerData):
    session_id = serializers.IntegerField()
    evse_id = serializers.IntegerField(allow_null=True)
    connector_id = serializers.IntegerField()
    id_tag = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField(allow_null=True)


class SessionUpdatedData(SessionStartedData):
    energy_wh = serializers.IntegerField(help_text="Energy delivered so far.")
    power_w = serializers.FloatField(allow_null=True, help_text="The last power reported; null if none yet.")


class SessionEndedData(SessionStartedData):
    stopped_at = serializers.DateTimeField(allow_null=True)
    energy_wh = serializers.IntegerField(allow_null=True)
    stop_reason = serializers.CharField(allow_blank=True)


class SessionPricedData(ChargerData):
    session_id = serializers.IntegerField()
    currency = serializers.CharField(help_text="ISO 4217.")
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    tariff_id = serializers.IntegerField(allow_null=True)
    tariff = serializers.CharField(allow_blank=True, help_text="The tariff's name.")


class CommandData(ChargerData):
    command_id = serializers.IntegerField()
    intent = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "rejected", "failed", "timed_out", "expired"])


# reports.models.AlertKind's values (integrations does not import reports); named in the schema
# by SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
ALERT_KINDS = ["charger_offline", "charger_fault", "session_stuck", "security_event"]


class AlertData(serializers.Serializer):
    alert_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ALERT_KINDS)
    summary = serializers.CharField()
    charge_point_id = serializers.CharField(allow_null=True)
    site_id = serializers.IntegerField(allow_null=True)


class AlertResolvedData(AlertData):
    resolution = serializers.CharField(allow_blank=True)


class SecurityEventData(ChargerData):
    security_event_id = serializers.IntegerField()
    kind = serializers.CharField(help_text="The security event's type, e.g. FirmwareUpdated, FailedLogin.")
    # A declared field, not Field.source (the serializer's metaclass takes it out of the class).
    source = serializers.ChoiceField(choices=SecurityEvent.Source.choices)  # type: ignore[assignment]
    severity = serializers.ChoiceField(choices=SecurityEvent.Severity.choices)
    critical = serializers.BooleanField()
    tech_info = serializers.CharField(allow_blank=True)
    occurred_at = serializers.DateTimeField()


DATA: dict[str, type[serializers.Serializer]] = {
    "charger.connected": ChargerData,
    "charger.disconnected": ChargerData,
    "charger.booted": BootData,
    "connector.status_changed": StatusData,
    "session.started": SessionStartedData,
    "session.updated": SessionUpdatedData,
    "session.ended": SessionEndedData,
    "session.priced": SessionPricedData,
    "command.settled": CommandData,
    "alert.raised": AlertData,
    "alert.resolved": AlertResolvedData,
    "security_event.recorded": SecurityEventData,
}


def _event_serializer(event_type: str) -> type[serializers.Serializer]:
    name = "".join(part.capitalize() for part in event_type.replace(".", "_").split("_")) + "Event"
    fields = {
        "id": serializers.UUIDField(),
        "type": serializers.ChoiceField(choices=[event_type]),
        "occurred_at": serializers.DateTimeField(),
        "organization": serializers.IntegerField(),
        "data": DATA[event_type](),
        "__doc__": EVENT_TYPES[event_type],
    }
    return type(name, (serializers.Serializer,), fields)


EVENT_SERIALIZERS = {event_type: _event_serializer(event_type) for event_type in EVENT_TYPES}

EVENT_SCHEMA = PolymorphicProxySerializer(
    component_name="Event",
    serializers={event_type: serializer for event_type, serializer in EVENT_SERIALIZERS.items()},
    resource_type_field_name="type",
)


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
