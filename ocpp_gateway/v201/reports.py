"""OCPP 2.0.1 station notifications (2.0.1 edition 3, part 2): the device model's reports (B07,
B08 NotifyReport; N02 NotifyMonitoringReport), events (N07/N08 NotifyEvent), security events
(A04), firmware and log upload statuses (L01, N01), DataTransfer (P01/P02), reservation updates
(H04) and the charging-limit, profile and customer-data notifications (K09, K11-K13, N09).

Each handler maps the payload to the domain's dataclasses and calls one service through the seam
(`TRANSACTIONS`: committed before the answer, so a station that gets no answer sends again);
every answer is the empty response, except DataTransfer's. No ORM here."""

import datetime as dt
from collections.abc import Callable
from functools import partial

from charging.reservations import end_reservation
from ocpp_gateway.certificates import sign_certificate
from ocpp_gateway.connection import Connection, Handler
from ocpp_gateway.data_transfer import handle_data_transfer
from ocpp_gateway.seam import TRANSACTIONS
from ocpp_gateway.security_events import security_event_notification
from ocpp_gateway.timestamps import parse_timestamp
from sites.commands.progress import record_job_status
from sites.device_model.services import (
    ComponentVariableRef,
    DeviceEventIn,
    ReportedMonitor,
    ReportedVariable,
    ReportPart,
    VariableAttribute,
    VariableCharacteristics,
    record_device_events,
    record_monitoring_report_part,
    record_report_part,
)
from sites.models import ChargerReport

# --- Payload -> dataclasses -------------------------------------------------------------------


def component_variable(component: dict, variable: dict) -> ComponentVariableRef:
    """ComponentType + VariableType; an absent EVSE or connector is 0 (2.0.1 numbers them from 1)."""
    evse = component.get("evse") or {}
    return ComponentVariableRef(
        component=component["name"],
        component_instance=component.get("instance", ""),
        evse_id=evse.get("id", 0),
        connector_id=evse.get("connectorId", 0),
        variable=variable["name"],
        variable_instance=variable.get("instance", ""),
    )


def reported_variable(data: dict) -> ReportedVariable:
    """ReportDataType. B07.FR.11: every supported attribute type is reported, with or without a value."""
    characteristics = data.get("variableCharacteristics")
    return ReportedVariable(
        ref=component_variable(data["component"], data["variable"]),
        attributes=tuple(
            VariableAttribute(
                type=attribute.get("type", "Actual"),
                value=attribute.get("value"),
                mutability=attribute.get("mutability", "ReadWrite"),
                persistent=attribute.get("persistent", False),
                constant=attribute.get("constant", False),
            )
            for attribute in data["variableAttribute"]
        ),
        characteristics=None
        if characteristics is None
        else VariableCharacteristics(
            data_type=characteristics["dataType"],
            supports_monitoring=characteristics["supportsMonitoring"],
            unit=characteristics.get("unit", ""),
            min_limit=characteristics.get("minLimit"),
            max_limit=characteristics.get("maxLimit"),
            values_list=characteristics.get("valuesList", ""),
        ),
    )


def report_part(payload: dict) -> ReportPart:
    return ReportPart(
        request_id=payload["requestId"],
        generated_at=parse_timestamp(payload["generatedAt"]),
        seq_no=payload["seqNo"],
        tbc=payload.get("tbc", False),
    )


def reported_monitors(data: dict) -> list[ReportedMonitor]:
    ref = component_variable(data["component"], data["variable"])
    return [
        ReportedMonitor(
            ref=ref,
            monitor_id=monitor["id"],
            type=monitor["type"],
            severity=monitor["severity"],
            value=monitor["value"],
            transaction=monitor["transaction"],
        )
        for monitor in data["variableMonitoring"]
    ]


def device_event(data: dict) -> DeviceEventIn:
    """EventDataType (N07.FR.06: the component, variable and monitor that caused it)."""
    return DeviceEventIn(
        ref=component_variable(data["component"], data["variable"]),
        event_id=data["eventId"],
        timestamp=parse_timestamp(data["timestamp"]),
        trigger=data["trigger"],
        actual_value=data["actualValue"],
        notification_type=data["eventNotificationType"],
        cause=data.get("cause"),
        tech_code=data.get("techCode", ""),
        tech_info=data.get("techInfo", ""),
        cleared=data.get("cleared"),
        transaction_id=data.get("transactionId", ""),
        variable_monitoring_id=data.get("variableMonitoringId"),
    )


# --- Handlers ---------------------------------------------------------------------------------


async def notify_report(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """B07/B08: one part of a report, stored as it arrives. Allowed while Pending (B02.FR.09:
    it answers GetBaseReport/GetReport, which the CSMS may send then, B02.FR.01)."""
    if conn.charger_id is not None:  # an unknown station held Pending: nothing to store it on
        await TRANSACTIONS.submit(
            partial(
                record_report_part,
                charger_id=conn.charger_id,
                part=report_part(payload),
                variables=[reported_variable(data) for data in payload.get("reportData", [])],
                received_at=received_at,
            )
        )
    return {}


async def notify_monitoring_report(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """N02: one part of a report of the station's monitors."""
    await TRANSACTIONS.submit(
        partial(
            record_monitoring_report_part,
            charger_id=conn.registered_id,
            part=report_part(payload),
            monitors=[monitor for data in payload.get("monitor", []) for monitor in reported_monitors(data)],
            received_at=received_at,
        )
    )
    return {}


async def notify_event(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """N07/N08: events stored, problems raised; N07.FR.03 / N08.FR.02: the answer is empty."""
    await TRANSACTIONS.submit(
        partial(
            record_device_events,
            charger_id=conn.registered_id,
            generated_at=parse_timestamp(payload["generatedAt"]),
            events=[device_event(data) for data in payload["eventData"]],
            received_at=received_at,
        )
    )
    return {}


def _status_report(kind: str) -> Handler:
    """FirmwareStatusNotification (L01.FR.01; requestId L01.FR.10/20) and LogStatusNotification
    (N01.FR.08-10; requestId N01.FR.07/13): the status history of the job."""

    async def record(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
        # Linked to the command that started the job by that requestId (sites.commands.progress).
        await TRANSACTIONS.submit(
            partial(
                record_job_status,
                charger_id=conn.registered_id,
                kind=kind,
                status=payload["status"],
                request_id=payload.get("requestId"),
                received_at=received_at,
            )
        )
        return {}

    return record


def _more(payload: dict) -> str:
    return " (more)" if payload.get("tbc") else ""  # tbc: "to be continued", further parts follow


def _kept_as_sent(kind: str, status: Callable[[dict], str]) -> Handler:
    """Notifications stored as they came (a ChargerReport with the payload as its detail and a
    short status): NotifyChargingLimit (K12), ClearedChargingLimit (K13), ReportChargingProfiles
    (K09), NotifyCustomerInformation (N09). Each is answered with the empty response. Those
    answering a request of ours (K09.FR.02, N09.FR.03: its requestId) are linked to its command."""

    async def record(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
        await TRANSACTIONS.submit(
            partial(
                record_job_status,
                charger_id=conn.registered_id,
                kind=kind,
                status=status(payload),
                request_id=payload.get("requestId"),
                detail={key: value for key, value in payload.items() if key != "customData"},
                received_at=received_at,
            )
        )
        return {}

    return record


async def data_transfer(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """P02: to the handler registered for the vendorId, else UnknownVendorId. 2.0.1 data is any JSON."""
    reply = await TRANSACTIONS.submit(
        partial(
            handle_data_transfer,
            charger_id=conn.registered_id,
            vendor_id=payload["vendorId"],
            message_id=payload.get("messageId"),
            data=payload.get("data"),
        )
    )
    return {"status": reply.status} if reply.data is None else {"status": reply.status, "data": reply.data}


async def reservation_status_update(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """H04.FR.01 (Expired), H01.FR.16/17 (Removed): the reservation ended at the station."""
    await TRANSACTIONS.submit(
        partial(
            end_reservation,
            charger_id=conn.registered_id,
            reservation_id=payload["reservationId"],
            removed=payload["reservationUpdateStatus"] == "Removed",
        )
    )
    return {}


HANDLERS: dict[str, Handler] = {
    "NotifyReport": notify_report,
    "NotifyMonitoringReport": notify_monitoring_report,
    "NotifyEvent": notify_event,
    "SecurityEventNotification": security_event_notification,
    "SignCertificate": sign_certificate,
    "FirmwareStatusNotification": _status_report(ChargerReport.Kind.FIRMWARE),
    "LogStatusNotification": _status_report(ChargerReport.Kind.LOG),
    "DataTransfer": data_transfer,
    "ReservationStatusUpdate": reservation_status_update,
    "NotifyChargingLimit": _kept_as_sent(
        ChargerReport.Kind.CHARGING_LIMIT, lambda p: f"{p['chargingLimit']['chargingLimitSource']} limit"
    ),
    "ClearedChargingLimit": _kept_as_sent(
        ChargerReport.Kind.CHARGING_LIMIT, lambda p: f"{p['chargingLimitSource']} limit cleared"
    ),
    "ReportChargingProfiles": _kept_as_sent(
        ChargerReport.Kind.CHARGING_PROFILES, lambda p: f"{p['chargingLimitSource']} EVSE {p['evseId']}{_more(p)}"
    ),
    "NotifyCustomerInformation": _kept_as_sent(
        ChargerReport.Kind.CUSTOMER_INFORMATION, lambda p: f"part {p['seqNo']}{_more(p)}"
    ),
}
