"""What both versions' codecs write and read alike: an OCPP dateTime, and optional fields left
out rather than sent as null (OCPP 1.6 sec. 7 and 2.0.1 part 2, 2.1 "Primitive datatypes")."""

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime


def ocpp_datetime(moment: dt.datetime) -> str:
    """dateTime in UTC with a "Z"."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def optional_fields(**values: Any) -> dict[str, Any]:
    """The payload fields that have a value: both versions leave optional fields out, never null."""
    return {name: value for name, value in values.items() if value is not None}


def read_moment(text: Any) -> dt.datetime | None:
    """An optional dateTime of a call read back; one that is there but unreadable makes the call
    unreadable (ValueError)."""
    if text is None:
        return None
    moment = parse_datetime(text) if isinstance(text, str) else None
    if moment is None:
        raise ValueError(f"not a dateTime: {text!r}")
    return moment


def read_required_moment(text: Any) -> dt.datetime:
    moment = read_moment(text)
    if moment is None:
        raise ValueError("a dateTime is required")
    return moment
