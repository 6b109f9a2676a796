"""The charger page's console (issue 19), mixed into ChargerAdmin: the page's data above the form
(sites.console), the buttons' views and the small JSON endpoint the page polls for a command's
outcome. Each button checks its own permission in the charger's organization; a Viewer sees none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import command_permission
from sites.commands import rotate_charger_key
from sites.commands.intents import (
    ChangeAvailability,
    Intent,
    ReadSettings,
    ReportBase,
    RequestReport,
    Reset,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
)
from sites.console import (
    charger_console,
    command_view,
    connector_of,
    console_state,
    kinds_offered,
    queue,
    running_sessions,
    stop_session,
)
from sites.models import Charger, Command, Connector


@dataclass(frozen=True, kw_only=True)
class Operation:
    """A button of the charger page: the intent kind (and so the permission) it needs, what it
    queues, and the question asked before it disturbs a driver."""

    name: str
    kind: str
    label: str
    per_connector: bool = False
    confirm: str = ""
    make: Callable[[Connector | None], Intent] | None = None


def _address(connector: Connector | None) -> dict:
    if connector is None:
        raise ValidationError("Choose a connector.")
    return {"connector": connector.connector_id, "evse": connector.evse_id}


def _unlock(connector: Connector | None) -> Intent:
    return Unlock(**_address(connector))


def _make_unavailable(connector: Connector | None) -> Intent:
    return ChangeAvailability(operative=False, **_address(connector))


def _make_available(connector: Connector | None) -> Intent:
    return ChangeAvailability(operative=True, **_address(connector))


CHARGER_OPERATIONS = [
    Operation(
        name="soft_reset",
        kind="reset",
        label="Soft reset",
        confirm="Soft reset this charger? Running sessions may end.",
        make=lambda _: Reset(hard=False),
    ),
    Operation(
        name="hard_reset",
        kind="reset",
        label="Hard reset",
        confirm="Hard reset (reboot) this charger? Running sessions end.",
        make=lambda _: Reset(hard=True),
    ),
    Operation(name="read_settings", kind="read_settings", label="Get configuration", make=lambda _: ReadSettings()),
    Operation(
        name="device_model",
        kind="request_report",
        label="Get device model",
        make=lambda _: RequestReport(base=ReportBase.FULL_INVENTORY),
    ),
    Operation(name="rotate_key", kind="rotate_key", label="Rotate key", confirm="Send this charger a new key?"),
]
CONNECTOR_OPERATIONS = [
    Operation(
        name="trigger_status",
        kind="trigger_message",
        label="Ask for its status",
        per_connector=True,
        # Per connector: 2.0.1 asks for a StatusNotification of one connector (F06.FR.13).
        make=lambda connector: TriggerMessage(message=TriggerableMessage.STATUS, **_address(connector)),
    ),
    Operation(
        name="stop",
        kind="remote_stop",
        label="Stop session",
        per_connector=True,
        confirm="Stop this session? The driver's charge ends.",
    ),
    Operation(
        name="unlock",
        kind="unlock",
        label="Unlock",
        per_connector=True,
        confirm="Unlock this connector? A cable in it is released.",
        make=_unlock,
    ),
    Operation(
        name="unavailable",
        kind="change_availability",
        label="Make unavailable",
        per_connector=True,
        confirm="Make this connector unavailable? No one can start charging on it.",
        make=_make_unavailable,
    ),
    Operation(
        name="available",
        kind="change_availability",
        label="Make available",
        per_connector=True,
        confirm="Make this connector available again?",
        make=_make_available,
    ),
]
OPERATIONS = {operation.name: operation for operation in CHARGER_OPERATIONS + CONNECTOR_OPERATIONS}


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class ChargerConsoleAdmin:
    """Mixed into ChargerAdmin (a ModelAdmin)."""

    change_form_outer_before_template = "admin/sites/charger/console.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/console/commands/<int:command_id>/",
                wrap(require_GET(self.console_command_status)),
                name="sites_charger_console_command",
            ),
            path(
                "<path:object_id>/console/state/",
                wrap(require_GET(self.console_state_view)),
                name="sites_charger_console_state",
            ),
            path(
                "<path:object_id>/console/<slug:operation>/",
                wrap(require_POST(self.console_operation)),
                name="sites_charger_console",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["console"] = charger_console(obj)
            allowed = self.console_allowed(request, obj)
            context["console_allowed"] = allowed
            context["console_charger_buttons"] = [
                (o.name, o.label, o.confirm) for o in CHARGER_OPERATIONS if allowed[o.name]
            ]
            context["console_connector_buttons"] = [
                (o.name, o.label, o.confirm) for o in CONNECTOR_OPERATIONS if allowed[o.name] and o.name != "stop"
            ]
            context["console_reserve_allowed"] = request.user.has_perm(command_permission("reserve"), obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def console_allowed(request: HttpRequest, charger: Charger) -> dict[str, bool]:
        """Per button: may this user queue it on this charger, and can its version carry it."""
        offered = kinds_offered(charger, {operation.kind for operation in OPERATIONS.values()})
        if "request_report" in offered:
            offered.discard("read_settings")  # 2.0.1: the device model holds the configuration
        return {
            name: operation.kind in offered and request.user.has_perm(command_permission(operation.kind), charger)
            for name, operation in OPERATIONS.items()
        }

    def _charger(self, request: HttpRequest, object_id: str) -> Charger:
        return get_object_or_404(self.get_queryset(request), pk=object_id)  # type: ignore[attr-defined]

    def console_operation(self, request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
        charger = self._charger(request, object_id)
        chosen = OPERATIONS.get(operation)
        if chosen is None:
            raise Http404
        if not request.user.has_perm(command_permission(chosen.kind), charger):
            raise PermissionDenied
        try:
            command = self._send(request, charger, chosen)
        except ValidationError as error:
            return self._refused(request, charger, " ".join(error.messages))
        view = command_view(command, online=charger.is_online)
        if wants_json(request):
            status_url = reverse("admin:sites_charger_console_command", args=[charger.pk, command.pk])
            return JsonResponse({"command": view.as_json(), "status_url": status_url})
        messages.info(request, f"{chosen.label}: {view.sentence} (command {command.pk}).")
        return HttpResponseRedirect(reverse("admin:sites_charger_change", args=[charger.pk]))

    @staticmethod
    def _send(request: HttpRequest, charger: Charger, operation: Operation) -> Command:
        connector = None
        if operation.per_connector:
            try:
                connector = connector_of(charger, int(request.POST.get("connector", "")))
            except (ValueError, Connector.DoesNotExist):
                raise ValidationError("No such connector on this charger.") from None
        if operation.name == "stop":
            session = running_sessions(charger).get(connector.pk) if connector else None
            if session is None:
                raise ValidationError("No session is running on this connector.")
            return stop_session(session=session, reason=request.POST.get("reason", ""), requested_by=request.user)
        if operation.name == "rotate_key":
            return rotate_charger_key(charger=charger, requested_by=request.user)
        if operation.make is None:
            raise ValidationError("Nothing to send.")
        return queue(charger=charger, intent=operation.make(connector), requested_by=request.user)

    @staticmethod
    def _refused(request: HttpRequest, charger: Charger, message: str) -> HttpResponse:
        if wants_json(request):
            return JsonResponse({"error": message}, status=400)
        messages.error(request, message)
        return HttpResponseRedirect(reverse("admin:sites_charger_change", args=[charger.pk]))

    def console_command_status(self, request: HttpRequest, object_id: str, command_id: int) -> JsonResponse:
        """The command's state and outcome sentence, polled by the page until it is finished."""
        charger = self._charger(request, object_id)
        command = get_object_or_404(Command, pk=command_id, charger_id=charger.pk)
        return JsonResponse({"command": command_view(command, online=charger.is_online).as_json()})

    def console_state_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The cards' states and sessions, polled by the page every few seconds."""
        return JsonResponse(console_state(charger_console(self._charger(request, object_id))))
