"""Writes of the device model, called by the OCPP gateway with neutral dataclasses (no wire
field names): report parts (NotifyReport B07/B08, NotifyMonitoringReport N02) and events
(NotifyEvent N07/N08).

Report parts are stored as they arrive: each part's rows are upserted at once, so what a
station reported is visible even if its last part never comes. A report is "complete" when
the part with tbc false arrived. Rows are never deleted by a report; a complete report that
answered a request for everything (GetBaseReport FullInventory, or GetMonitoringReport with
no criteria and no componentVariables, N02.FR.11) marks the rows it did not include `stale`
(e.g. a component removed by a firmware update, B07.FR.14); a row reported again is fresh."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction

from sites.device_model.models import (
    IDENTITY,
    AttributeType,
    DeviceEvent,
    DeviceReport,
    DeviceVariable,
    VariableMonitor,
)
from sites.models import Command, CommandStatus
from sites.signals import DeviceProblem, device_problems_reported

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ComponentVariableRef:
    """ComponentType + VariableType: "" and 0 for an absent instance, EVSE or connector."""

    component: str
    variable: str
    component_instance: str = ""
    evse_id: int = 0
    connector_id: int = 0
    variable_instance: str = ""

    def fields(self) -> dict:
        return {
            "component_name": self.component,
            "component_instance": self.component_instance,
            "evse_id": self.evse_id,
            "connector_id": self.connector_id,
            "variable_name": self.variable,
            "variable_instance": self.variable_instance,
        }


@dataclass(frozen=True, slots=True)
class VariableAttribute:
    type: str = "Actual"  # AttributeEnumType's default
    value: str | None = None
    mutability: str = "ReadWrite"  # MutabilityEnumType's default
    persistent: bool = False
    constant: bool = False


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    data_type: str
    supports_monitoring: bool
    unit: str = ""
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str = ""


@dataclass(frozen=True, slots=True)
class ReportedVariable:
    """One reportData: a variable with its attributes (1 to 4) and, usually, its characteristics."""

    ref: ComponentVariableRef
    attributes: tuple[VariableAttribute, ...]
    characteristics: VariableCharacteristics | None = None


@dataclass(frozen=True, slots=True)
class ReportedMonitor:
    ref: ComponentVariableRef
    monitor_id: int
    type: str
    severity: int
    value: float
    transaction: bool


@dataclass(frozen=True, slots=True)
class ReportPart:
    request_id: int
    generated_at: dt.datetime
    seq_no: int
    tbc: bool = False


CHARACTERISTIC_FIELDS = ["unit", "data_type", "min_limit", "max_limit", "values_list", "supports_monitoring"]
ATTRIBUTE_FIELDS = ["value", "mutability", "persistent", "constant"]
ROW_FIELDS = ["report", "reported_at", "received_at", "stale"]


@transaction.atomic
def record_report_part(
    *, charger_id: int, part: ReportPart, variables: list[ReportedVariable], received_at: dt.datetime
) -> DeviceReport:
    """One NotifyReport part: its variables upserted, the report's progress recorded."""
    report, fresh = _report_for(charger_id, DeviceReport.Kind.VARIABLES, part, received_at)
    # Keyed by identity: a variable sent twice in one part is written once (the last wins).
    rows: dict[bool, dict[tuple, DeviceVariable]] = {
        True: {},  # with characteristics: every field is updated
        False: {},  # without: the characteristics stored earlier stay
    }
    for item in variables:
        for attribute in item.attributes:
            row = DeviceVariable(
                charger_id=charger_id,
                attribute_type=attribute.type,
                value=attribute.value,
                mutability=attribute.mutability,
                persistent=attribute.persistent,
                constant=attribute.constant,
                report=report,
                reported_at=part.generated_at,
                received_at=received_at,
                stale=False,
                **item.ref.fields(),
            )
            if item.characteristics is not None:
                c = item.characteristics
                row.unit, row.data_type, row.values_list = c.unit, c.data_type, c.values_list
                row.min_limit, row.max_limit, row.supports_monitoring = c.min_limit, c.max_limit, c.supports_monitoring
            rows[item.characteristics is not None][(*item.ref.fields().values(), attribute.type)] = row
    for with_characteristics, batch in rows.items():
        if batch:
            DeviceVariable.objects.bulk_create(
                list(batch.values()),
                update_conflicts=True,
                unique_fields=[*IDENTITY, "attribute_type"],
                update_fields=ATTRIBUTE_FIELDS + ROW_FIELDS + (CHARACTERISTIC_FIELDS if with_characteristics else []),
            )
    count = sum(len(batch) for batch in rows.values())
    return _progress(report, part, received_at, items=count, fresh=fresh, model=DeviceVariable)


def record_values_known(*, charger_id: int, values: dict[str, str], at: dt.datetime) -> int:
    """Values the station confirmed outside a report: read with GetVariables (B06) or set with
    SetVariables (B05; SetVariableData's attributeType defaults to Actual). The Actual attribute
    of each variable already in the device model takes its value, so what the admin browses
    agrees with the station before its next report. `values` are keyed by the neutral spelling
    "Component.Variable[.Instance]", which names no component instance, EVSE or connector: it
    is the station-wide variable that is updated. Returns how many rows changed."""
    updated = 0
    for spelling, value in values.items():
        component, _dot, rest = spelling.partition(".")
        variable, _dot, instance = rest.partition(".")
        if not (component and variable):
            continue  # a 1.6 configuration key: no device model
        updated += DeviceVariable.objects.filter(
            charger_id=charger_id,
            component_name=component,
            component_instance="",
            evse_id=0,
            connector_id=0,
            variable_name=variable,
            variable_instance=instance,
            attribute_type=AttributeType.ACTUAL,
        ).update(value=value, received_at=at)
    return updated


@transaction.atomic
def record_monitoring_report_part(
    *, charger_id: int, part: ReportPart, monitors: list[ReportedMonitor], received_at: dt.datetime
) -> DeviceReport:
    """One NotifyMonitoringReport part (N02): its monitors upserted by the station's monitor id."""
    report, fresh = _report_for(charger_id, DeviceReport.Kind.MONITORS, part, received_at)
    rows = {
        monitor.monitor_id: VariableMonitor(
            charger_id=charger_id,
            monitor_id=monitor.monitor_id,
            monitor_type=monitor.type,
            severity=monitor.severity,
            value=monitor.value,
            transaction=monitor.transaction,
            report=report,
            reported_at=part.generated_at,
            received_at=received_at,
            stale=False,
            **monitor.ref.fields(),
        )
        for monitor in monitors
    }
    if rows:
        VariableMonitor.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["charger", "monitor_id"],
            update_fields=[*IDENTITY[1:], "monitor_type", "severity", "value", "transaction", *ROW_FIELDS],
        )
    return _progress(report, part, received_at, items=len(rows), fresh=fresh, model=VariableMonitor)


def _report_for(charger_id: int, kind: str, part: ReportPart, received_at: dt.datetime) -> tuple[DeviceReport, bool]:
    """The report this part belongs to, locked; and whether the part is new to it (False: the
    station sent the same part again because our answer was lost; stored again, counted once).

    seqNo 0 starts a report (B07.FR.10, B08.FR.14, N02.FR.09); a later part joins the latest
    report of its requestId (B07.FR.04, B08.FR.04, N02.FR.04), or starts one if its first part
    never reached us."""
    latest = (
        DeviceReport.objects.select_for_update()
        .filter(charger_id=charger_id, kind=kind, request_id=part.request_id)
        .order_by("-received_at", "-pk")
        .first()
    )
    if latest is not None:
        if part.seq_no == 0 and latest.last_seq_no == 0 and latest.generated_at == part.generated_at:
            return latest, False  # part 0 again
        if 0 < part.seq_no <= latest.last_seq_no:
            return latest, False  # a later part again
    if latest is None or part.seq_no == 0:
        latest = DeviceReport.objects.create(
            charger_id=charger_id,
            kind=kind,
            request_id=part.request_id,
            generated_at=part.generated_at,
            received_at=received_at,
            last_part_at=received_at,
            full=_asked_for_everything(charger_id, kind, part.request_id),
        )
    return latest, True


def _progress(
    report: DeviceReport, part: ReportPart, received_at: dt.datetime, *, items: int, fresh: bool, model
) -> DeviceReport:
    if fresh:
        report.parts_received += 1
        report.items += items
    report.last_seq_no = max(report.last_seq_no, part.seq_no)
    report.last_part_at = received_at
    newly_complete = not part.tbc and not report.complete
    report.complete = report.complete or not part.tbc
    report.save(update_fields=["parts_received", "items", "last_seq_no", "last_part_at", "complete"])
    if newly_complete and report.full:
        stale = model.objects.filter(charger_id=report.charger_id).exclude(report=report).update(stale=True)
        if stale:
            logger.info("charger %s: %d device-model row(s) stale after full report %s", report.charger_id, stale,
                        report.request_id)  # fmt: skip
    return report


def _asked_for_everything(charger_id: int, kind: str, request_id: int) -> bool:
    """Whether this report answers a request for the whole device model (GetBaseReport with
    reportBase FullInventory, B07.FR.08) or for every monitor (GetMonitoringReport without
    criteria, N02.FR.11): read from the request as sent (the command's wire form, which the
    outbound port keeps for every command, raw calls included). A report nobody asked for,
    or whose request is unknown, marks nothing stale."""
    action = "GetBaseReport" if kind == DeviceReport.Kind.VARIABLES else "GetMonitoringReport"
    sent = (
        Command.objects.filter(charger_id=charger_id, action=action)
        .exclude(status__in=[CommandStatus.QUEUED, CommandStatus.REJECTED, CommandStatus.FAILED])
        .order_by("-created_at", "-pk")
        .values_list("payload", flat=True)[:20]
    )
    for payload in sent:
        if not isinstance(payload, dict) or payload.get("requestId") != request_id:
            continue
        if kind == DeviceReport.Kind.VARIABLES:
            return payload.get("reportBase") == "FullInventory"
        return not payload.get("monitoringCriteria") and not payload.get("componentVariable")
    return False


# --- Events (N07, N08) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceEventIn:
    """One eventData of a NotifyEvent."""

    ref: ComponentVariableRef
    event_id: int
    timestamp: dt.datetime
    trigger: str  # Alerting, Delta, Periodic
    actual_value: str
    notification_type: str  # HardWiredNotification, HardWiredMonitor, PreconfiguredMonitor, CustomMonitor
    cause: int | None = None
    tech_code: str = ""
    tech_info: str = ""
    cleared: bool | None = None
    transaction_id: str = ""
    variable_monitoring_id: int | None = None


TRUE_VALUES = frozenset({"true", "1"})


def is_problem(event: DeviceEventIn) -> bool:
    """Whether an event is raised to operators as a problem. Kept simple on purpose:
    - the standard variable Problem of any component turned true (2.0.1 part 2 appendices,
      "Problem": a component has a problem; what B08.FR.10 reports too), or
    - a monitor alert that is not its clearing: trigger Alerting (a threshold crossed,
      N07.FR.16/17) with cleared not true (N07.FR.02 sends cleared=true when it returns).
    Periodic and Delta readings, and every clearing, are stored but not raised."""
    if event.cleared:
        return False
    if event.ref.variable == "Problem":
        return event.actual_value.strip().lower() in TRUE_VALUES
    return event.trigger == DeviceEvent.Trigger.ALERTING


@transaction.atomic
def record_device_events(
    *, charger_id: int, generated_at: dt.datetime, events: list[DeviceEventIn], received_at: dt.datetime
) -> list[DeviceEvent]:
    """A NotifyEvent's eventData (every part stands alone: events are not a report). The same
    event sent again (same eventId and timestamp) is kept once and raised once. Problems are
    announced with `device_problems_reported` once committed (the dashboard lists them)."""
    rows = [
        DeviceEvent(
            charger_id=charger_id,
            event_id=event.event_id,
            timestamp=event.timestamp,
            trigger=event.trigger,
            cause=event.cause,
            actual_value=event.actual_value,
            tech_code=event.tech_code,
            tech_info=event.tech_info,
            cleared=event.cleared,
            transaction_id=event.transaction_id,
            variable_monitoring_id=event.variable_monitoring_id,
            notification_type=event.notification_type,
            generated_at=generated_at,
            received_at=received_at,
            problem=is_problem(event),
            **event.ref.fields(),
        )
        for event in events
    ]
    already = set(
        DeviceEvent.objects.filter(
            charger_id=charger_id, event_id__in={r.event_id for r in rows}, timestamp__in={r.timestamp for r in rows}
        ).values_list("event_id", "timestamp")
    )
    new = [row for row in rows if (row.event_id, row.timestamp) not in already]
    new = list({(row.event_id, row.timestamp): row for row in new}.values())  # the same event twice in one message
    DeviceEvent.objects.bulk_create(new)
    problems = [
        DeviceProblem(
            charger_id=charger_id,
            evse_id=row.evse_id,
            connector_id=row.connector_id,
            component=row.component_label,
            variable=row.variable_label,
            actual_value=row.actual_value,
            tech_code=row.tech_code,
            tech_info=row.tech_info,
            timestamp=row.timestamp,
        )
        for row in new
        if row.problem
    ]
    if problems:
        logger.warning("charger %s reported %d problem(s): %s", charger_id, len(problems),
                       ", ".join(f"{p.component}.{p.variable}={p.actual_value}" for p in problems))  # fmt: skip
        transaction.on_commit(lambda: device_problems_reported.send(sender=DeviceEvent, problems=problems))
    return new
