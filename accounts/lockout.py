"""Login lockout (django-axes, S19).

Two limits: AXES_FAILURE_LIMIT failures for one account from one address lock that pair out
(axes' own lockout), and AXES_ACCOUNT_FAILURE_LIMIT failures for one account from any number of
addresses lock the account out everywhere (distributed guessing, which the pair limit never
sees). axes compares one count with one limit; the handler below reports an account over its
own, higher limit as being at the pair limit, so the same comparison locks it.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


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
