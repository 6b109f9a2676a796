"""What an operator does to charging sessions from the admin, on the list and on a session's
page: stop it (RemoteStop through the command path), ask the charger about it (TriggerMessage
or GetTransactionStatus), close it with a reason when its stop never came, mark it reviewed.
Each goes through a confirmation or a small form, checks the permission in the session's own
organization, and calls a service (charging.services.corrections); nothing here writes."""

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from accounts.admin_tenancy import require_permission
from accounts.roles import command_permission
from charging.models import ChargingSession, SessionState
from charging.selectors import last_reading_at, local_time, selected, stuck_after, stuck_sessions
from charging.services.corrections import (
    ask_charger_about,
    close_session_by_operator,
    mark_session_reviewed,
    request_stop,
    status_intents,
)
from sites.models import Command

ACTION_TEMPLATE = "admin/charging/chargingsession/session_action.html"


class StuckSessionFilter(admin.SimpleListFilter):
    """Active sessions that have shown nothing for SESSION_STUCK_AFTER minutes (charging.selectors)."""

    title = "possibly stuck sessions"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        minutes = int(stuck_after().total_seconds() // 60)
        return [("yes", f"Possibly stuck (nothing heard for {minutes} min)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return stuck_sessions(sessions=queryset)
        return queryset


class CloseForm(forms.Form):
    stopped_at = forms.DateTimeField(
        label="Stop time",
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "YYYY-MM-DD HH:MM:SS"}),
        help_text="In the site's time zone. Empty: the time of each session's last meter value (its start "
        "if it sent none).",
    )
    reason = forms.CharField(
        max_length=500,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
        help_text="Why the session is closed by hand (kept on the session and in the audit trail).",
    )


class StopForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}),
        help_text="Optional: why (kept in the audit trail with the command).",
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="What was checked",
        max_length=500,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
        help_text="Kept on the session and in the audit trail.",
    )


class SessionOperationsMixin(ModelAdmin):
    """Mixed into the ChargingSession admin (before TenantScopedAdmin, whose scoping it relies on)."""

    actions = ["stop_sessions", "ask_chargers", "close_sessions", "mark_reviewed"]
    actions_detail = ["stop_detail", "ask_detail", "close_detail", "review_detail"]
    actions_row = ["stop_row"]

    # --- who may do what -------------------------------------------------------------------

    def has_send_remote_stop_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("remote_stop"))

    def has_send_trigger_message_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("trigger_message"))

    def _detail_session(self, request: HttpRequest, object_id) -> ChargingSession | None:
        return self.get_queryset(request).select_related("charger__site", "connector").filter(pk=object_id).first()

    def _may_ask(self, request: HttpRequest, session: ChargingSession) -> bool:
        return all(
            request.user.has_perm(command_permission(intent.kind), session.charger)
            for intent in status_intents(session)
        )

    def has_session_stop_permission(self, request: HttpRequest, object_id=None) -> bool:
        session = self._detail_session(request, object_id)
        return bool(
            session
            and session.state == SessionState.ACTIVE
            and request.user.has_perm(command_permission("remote_stop"), session.charger)
        )

    def has_session_ask_permission(self, request: HttpRequest, object_id=None) -> bool:
        session = self._detail_session(request, object_id)
        return bool(session and session.state == SessionState.ACTIVE and self._may_ask(request, session))

    def has_session_close_permission(self, request: HttpRequest, object_id=None) -> bool:
        session = self._detail_session(request, object_id)
        return bool(session and session.state == SessionState.ACTIVE and self.has_change_permission(request, session))

    def has_session_review_permission(self, request: HttpRequest, object_id=None) -> bool:
        session = self._detail_session(request, object_id)
        return bool(session and session.needs_review and self.has_change_permission(request, session))

    # --- list actions ----------------------------------------------------------------------

    @admin.action(description="Stop the charge (remote stop)", permissions=["send_remote_stop"])
    def stop_sessions(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._operate(request, selected(queryset), "stop")

    @admin.action(description="Ask the charger (fresh meter value and status)", permissions=["send_trigger_message"])
    def ask_chargers(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._operate(request, selected(queryset), "ask")

    @admin.action(description="Close with a reason (stop never came)", permissions=["change"])
    def close_sessions(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._operate(request, selected(queryset), "close")

    @admin.action(description="Mark reviewed", permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._operate(request, selected(queryset), "review")

    # --- buttons on a session's page -------------------------------------------------------

    def _one(self, request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
        session = self._detail_session(request, object_id)
        if session is None:
            raise PermissionDenied
        return self._operate(request, [session], operation, single=True) or HttpResponseRedirect(
            reverse("admin:charging_chargingsession_change", args=[session.pk])
        )

    @action(description="Stop", url_path="stop", permissions=["session_stop"])
    def stop_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._one(request, object_id, "stop")

    @action(description="Stop", url_path="stop-charge", permissions=["send_remote_stop"])
    def stop_row(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The same confirmation from a row of the list (a session no longer active says so)."""
        return self._one(request, object_id, "stop")

    @action(description="Ask the charger", url_path="ask", permissions=["session_ask"])
    def ask_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._one(request, object_id, "ask")

    @action(description="Close with a reason", url_path="close", permissions=["session_close"])
    def close_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._one(request, object_id, "close")

    @action(description="Mark reviewed", url_path="review", permissions=["session_review"])
    def review_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._one(request, object_id, "review")

    # --- the confirmation / form page, and the work ----------------------------------------

    def _operate(
        self, request: HttpRequest, sessions: Sequence[ChargingSession], operation: str, *, single: bool = False
    ) -> HttpResponse | None:
        """Show the confirmation (or the form) for `operation` on `sessions`; once confirmed, do it
        for each and return None (back to where the operator came from)."""
        spec = OPERATIONS[operation]
        self._check_permission(request, sessions, operation)
        if spec.only_active:
            sessions = [session for session in sessions if session.state == SessionState.ACTIVE]
        if operation == "review":
            sessions = [session for session in sessions if session.needs_review]
        if not sessions:
            messages.warning(request, spec.nothing_to_do)
            return None
        form = spec.form(request.POST) if spec.form and request.POST.get("confirm") == "yes" else None
        if form is None and spec.form:
            form = spec.form(initial=self._initial(sessions, operation))
        if request.POST.get("confirm") == "yes" and (form is None or self._valid(form, sessions)):
            done = 0
            for session in sessions:
                try:
                    spec.run(self, request, session, form.cleaned_data if form else {}, single)
                    done += 1
                except ValidationError as error:
                    messages.error(request, f"{session}: {' '.join(error.messages)}")
            if done:
                messages.success(request, spec.done.format(count=done))
            return None
        zone = ZoneInfo(sessions[0].charger.site.timezone)
        context = {
            **self.admin_site.each_context(request),
            "title": spec.title,
            "opts": self.model._meta,
            "operation": operation,
            "explanation": spec.explanation,
            "button": spec.button,
            "sessions": [
                (session, local_time(session.started_at, ZoneInfo(session.charger.site.timezone)))
                for session in sessions
            ],
            "form": form,
            "single": single,
            "time_zone": str(zone),
            "action_name": spec.action_name,
            "back_url": (
                reverse("admin:charging_chargingsession_change", args=[sessions[0].pk])
                if single
                else reverse("admin:charging_chargingsession_changelist")
            ),
        }
        return TemplateResponse(request, ACTION_TEMPLATE, context)

    def _check_permission(self, request: HttpRequest, sessions: Sequence[ChargingSession], operation: str) -> None:
        """The permission counts in each session's organization (S16)."""
        if operation == "stop":
            require_permission(request, command_permission("remote_stop"), (s.charger for s in sessions))
        elif operation == "ask":
            if not all(self._may_ask(request, session) for session in sessions):
                raise PermissionDenied
        elif not all(self.has_change_permission(request, session) for session in sessions):
            raise PermissionDenied

    @staticmethod
    def _initial(sessions: Sequence[ChargingSession], operation: str) -> dict:
        if operation == "close" and len(sessions) == 1:
            session = sessions[0]
            zone = ZoneInfo(session.charger.site.timezone)
            return {"stopped_at": f"{last_reading_at(session).astimezone(zone):%Y-%m-%d %H:%M:%S}"}
        return {}

    @staticmethod
    def _valid(form: forms.Form, sessions: Sequence[ChargingSession]) -> bool:
        """A typed stop time is read in the site's time zone (of the one session it is for)."""
        with timezone.override(ZoneInfo(sessions[0].charger.site.timezone)):
            valid = form.is_valid()
        if valid and form.cleaned_data.get("stopped_at") and len(sessions) > 1:
            form.add_error("stopped_at", "Leave the time empty when closing several sessions.")
            return False
        return valid

    # --- each operation, for one session ---------------------------------------------------

    def _run_stop(self, request: HttpRequest, session: ChargingSession, data: dict, single: bool) -> None:
        request_stop(session=session, requested_by=request.user, via=Command.Via.ADMIN, reason=data.get("reason", ""))

    def _run_ask(self, request: HttpRequest, session: ChargingSession, data: dict, single: bool) -> None:
        ask_charger_about(session=session, requested_by=request.user, via=Command.Via.ADMIN)

    def _run_close(self, request: HttpRequest, session: ChargingSession, data: dict, single: bool) -> None:
        stopped_at = data.get("stopped_at") or last_reading_at(session)
        close_session_by_operator(session=session, stopped_at=stopped_at, reason=data["reason"], actor=request.user)

    def _run_review(self, request: HttpRequest, session: ChargingSession, data: dict, single: bool) -> None:
        mark_session_reviewed(session=session, note=data["note"], actor=request.user)


class Operation:
    def __init__(
        self, *, title: str, explanation: str, button: str, done: str, nothing_to_do: str, action_name: str,
        run: Callable, form: type[forms.Form] | None = None, only_active: bool = True,
    ) -> None:  # fmt: skip
        self.title, self.explanation, self.button, self.done = title, explanation, button, done
        self.nothing_to_do, self.action_name, self.run, self.form = nothing_to_do, action_name, run, form
        self.only_active = only_active


OPERATIONS = {
    "stop": Operation(
        title="Stop these charges?",
        explanation="The charger is asked to stop each session (the driver's charge ends). The session closes "
        "when the charger reports the stop.",
        button="Yes, stop",
        done="Stop queued for {count} session(s); each ends when its charger reports the stop.",
        nothing_to_do="No active session selected: nothing to stop.",
        action_name="stop_sessions",
        run=SessionOperationsMixin._run_stop,
        form=StopForm,
    ),
    "ask": Operation(
        title="Ask the chargers about these sessions?",
        explanation="Each charger is asked for the transaction's status where its protocol can say, else for a "
        "fresh meter value and connector status. The answers appear on the session and its charger.",
        button="Ask",
        done="Questions queued for {count} session(s).",
        nothing_to_do="No active session selected: nothing to ask about.",
        action_name="ask_chargers",
        run=SessionOperationsMixin._run_ask,
    ),
    "close": Operation(
        title="Close these sessions by hand?",
        explanation="For a session whose stop never came (the charger lost it, or was replaced). The session is "
        "closed at the stop time with the energy its readings showed by then, priced, and your reason is kept "
        "on it and in the audit trail. The charger is not told: stop it first if it may still be charging.",
        button="Close",
        done="Closed {count} session(s).",
        nothing_to_do="No active session selected: nothing to close.",
        action_name="close_sessions",
        run=SessionOperationsMixin._run_close,
        form=CloseForm,
    ),
    "review": Operation(
        title="Mark these sessions reviewed?",
        explanation="Clears the review flag; the notes stay, with yours added.",
        button="Mark reviewed",
        done="Marked {count} session(s) reviewed.",
        nothing_to_do="No session flagged for review selected.",
        action_name="mark_reviewed",
        run=SessionOperationsMixin._run_review,
        form=ReviewForm,
        only_active=False,
    ),
}
