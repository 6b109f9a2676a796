"""Charger timestamps: ISO 8601 with "Z", offsets or fractions; stored in UTC (ACCEPTANCE R10)."""

import datetime as dt


def parse_timestamp(value: str) -> dt.datetime:
    """Parse an OCPP dateTime into an aware UTC datetime. A time without an offset is taken
    as UTC (the OCPP rule is UTC); raises ValueError for anything unreadable."""
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def is_timestamp(value: str) -> bool:
    try:
        parse_timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def ocpp_time(moment: dt.datetime) -> str:
    """Our dateTime on the wire, in both versions: UTC with milliseconds and a "Z" (1.6 sec.
    3.13 / 2.0.1 part 2, 2.1.4 "dateTime": RFC 3339, UTC preferred)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
