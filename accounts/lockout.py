"""Login lockout (django-axes, S19): the login name under both forms that log people in, the
answer to a locked-out login, the client's address, and the account-wide limit.

Two limits: AXES_FAILURE_LIMIT failures for one account from one address lock that pair out
(axes' own lockout), and AXES_ACCOUNT_FAILURE_LIMIT failures for one account from any number of
addresses lock the account out everywhere (distributed guessing, which the pair limit never
sees). axes compares one count with one limit; the handler below reports an account over its
own, higher limit as being at the pair limit, so the same comparison locks it.
"""

from axes.attempts import get_cool_off_threshold
from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit, get_lockout_message
from axes.models import AccessAttempt
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse


def login_name(request, credentials: dict | None) -> str:
    """The login name under both forms that log people in."""
    credentials = credentials or {}
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    name = credentials.get("username") or credentials.get("email") or data.get("username") or data.get("email") or ""
    return str(name).strip().lower()


def client_address(request) -> str | None:
    """The peer's address as the ASGI server reports it: uvicorn takes it from X-Forwarded-For
    only when the peer is one of TRUSTED_PROXIES. Never the header itself, which any client
    can set (django-ipware, axes' default when installed, would read it)."""
    return getattr(request, "META", {}).get("REMOTE_ADDR")


def account_failures(username: str, request) -> int:
    """Failed logins for this account from every address within the cool-off time."""
    attempts = AccessAttempt.objects.filter(username=username, attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class AccountLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, plus the account-wide limit (see the module docstring)."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        username = get_client_username(request, credentials)
        if username and account_failures(username, request) >= settings.AXES_ACCOUNT_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures


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
