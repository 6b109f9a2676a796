"""Login lockout (django-axes, S19): the login name under both forms that log people in, and
the answer to a locked-out login."""

from axes.conf import settings
from axes.helpers import get_cool_off, get_lockout_message
from django.http import HttpResponse, JsonResponse


def login_name(request, credentials: dict | None) -> str:
    credentials = credentials or {}
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    name = credentials.get("username") or credentials.get("email") or data.get("username") or data.get("email") or ""
    return str(name).strip().lower()


def lockout_response(request, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """A locked-out login: on the API, the API's error shape as JSON (documented as its 429 in the
    schema) with Retry-After; on the admin, django-axes' plain message, as before."""
    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        minutes = max(1, int(cool_off.total_seconds() // 60)) if cool_off else None
        wait = f" Try again in {minutes} minutes." if minutes else ""
        response = JsonResponse({"detail": f"Too many failed logins for this account.{wait}"}, status=429)
        if cool_off:
            response["Retry-After"] = str(int(cool_off.total_seconds()))
        return response
    return HttpResponse(get_lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE)
