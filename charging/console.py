"""What the charger page (sites.console) shows of the sessions in progress: charging registers
this source when its app is ready, since sites may not import charging."""

from django.urls import reverse

from charging.models import ChargingSession, SessionState
from charging.services.corrections import request_stop
from sites.console import RunningSession, register_running_sessions, register_session_stopper
from sites.models import Charger, Command


def running_sessions_of(charger: Charger) -> dict[int, RunningSession]:
    """The charger's sessions in progress by connector pk, in one query (the latest one of a
    connector wins should a zombie session linger beside it)."""
    sessions = ChargingSession.objects.filter(charger_id=charger.pk, state=SessionState.ACTIVE).order_by("started_at")
    return {
        session.connector_id: RunningSession(
            session_id=session.pk,
            connector_pk=session.connector_id,
            id_token=session.id_tag,
            started_at=session.started_at,
            energy_wh=session.energy_wh,
            meter_start_wh=session.meter_start_wh,
            power_w=session.last_power_w,
            transaction_id=str(session.transaction_id)
            if session.transaction_id is not None
            else (session.transaction_uid or ""),
            url=reverse("admin:charging_chargingsession_change", args=[session.pk]),
        )
        for session in sessions
    }


def stop_running_session(session_id: int, reason: str, requested_by) -> Command:
    session = ChargingSession.objects.select_related("charger", "connector").get(pk=session_id)
    return request_stop(session=session, requested_by=requested_by, reason=reason)


def register() -> None:
    register_running_sessions(running_sessions_of)
    register_session_stopper(stop_running_session)
