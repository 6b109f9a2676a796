import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not an IANA time zone such as Europe/Berlin.", params={"value": value})


# OCPP-J 2.0.1 part 4 sec. 3.1.1: the identity is at most 48 characters and never contains
# ":" (it is also the HTTP Basic username). It is the last segment of the connection URL,
# so "/" is refused too. Spaces are allowed inside ("RDAM 123" is the spec's example).
validate_charge_point_id = RegexValidator(
    regex=r"^(?=\S)[^:/\x00-\x1f\x7f]{1,48}(?<=\S)$",
    message="A charge point id has 1-48 characters, no ':' or '/', and no leading or trailing space.",
)
