"""Times as operators read them: in a named time zone (a site's, else UTC), with the zone's
abbreviation, never ISO 8601 and never microseconds. "5 Dec 2026, 14:03:07 CET" where the
second matters (message log, status history, meter values, events, commands), "5 Dec 2026,
14:03 CET" elsewhere, "5 Dec 2026" for a day.

Templates get the same text with Django's own filters:
`{{ value|timezone:zone_name|date:"j M Y, H:i:s T" }}` (`{% load tz %}`); TEMPLATE_FORMAT below."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import admin

# The `date` filter's format giving the same text as format_local(..., seconds=True).
TEMPLATE_FORMAT = "j M Y, H:i:s T"
TEMPLATE_FORMAT_MINUTES = "j M Y, H:i T"


def zone_named(name: "str | dt.tzinfo | None") -> dt.tzinfo:
    """The time zone of that name (a site's `timezone`); UTC when empty or unknown."""
    if isinstance(name, dt.tzinfo):
        return name
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def format_day(day: dt.date | None) -> str:
    """ "1 Dec 2026"; "" for None."""
    return f"{day.day} {day:%b %Y}" if day is not None else ""


def format_local(moment: dt.datetime | None, zone: "str | dt.tzinfo | None" = None, *, seconds: bool = True) -> str:
    """A moment in `zone` (a name or tzinfo; UTC when None), e.g. "5 Dec 2026, 14:03:07 CET";
    "" for None. A naive moment is taken as UTC (the database stores UTC)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(zone_named(zone))
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{format_day(local.date())}, {clock} {local:%Z}"


def local_time_column(
    field: str,
    description: str,
    *,
    zone_path: str = "charger.site.timezone",
    seconds: bool = True,
    empty: str = "-",
):
    """An admin column (list_display, readonly_fields) showing the datetime `field` of a row in
    the time zone found along `zone_path` (dotted attributes, e.g. "site.timezone"; UTC when a
    link on the way is None): `received = local_time_column("received_at", "Received")`.
    Select the related rows (list_select_related) so the path costs no query per row."""

    def column(model_admin, obj) -> str:
        zone = obj
        for attribute in zone_path.split("."):
            zone = getattr(zone, attribute, None)
            if zone is None:
                break
        return format_local(getattr(obj, field, None), zone, seconds=seconds) or empty

    column.__name__ = f"{field}_local"
    return admin.display(description=description, ordering=field)(column)
