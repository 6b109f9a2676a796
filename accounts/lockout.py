"""Login lockout (django-axes, S19): the login name under both forms that log people in."""


def login_name(request, credentials: dict | None) -> str:
    credentials = credentials or {}
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    name = credentials.get("username") or credentials.get("email") or data.get("username") or data.get("email") or ""
    return str(name).strip().lower()
