import ipaddress
import re
import urllib.parse
import zoneinfo

from django.conf import settings
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


# --- URLs a charger is told to fetch from or upload to (S20) -------------------------------

# What chargers fetch firmware from and upload diagnostics to (1.6 sec. 5.9, 5.19; FTP(S)
# and SFTP are common in the field). Anything else (file:, gopher:, data:, ...) is refused.
REMOTE_URL_SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# WHATWG URL standard: a host whose last label is a number is an IPv4 address, and browsers,
# curl and many embedded stacks then read "2130706433", "0x7f.1" or "0177.0.0.1" as 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
# IPv6 prefixes that carry an IPv4 address a router may forward to (NAT64, RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def validate_remote_url(value: str) -> None:
    """A URL the central system hands a charger (UpdateFirmware, GetDiagnostics): one of
    REMOTE_URL_SCHEMES, and, unless OCPP_ALLOW_PRIVATE_URLS is set, no host of our own
    network: loopback, private, link-local (cloud metadata at 169.254.169.254), unspecified,
    multicast or reserved addresses, and "localhost".

    Host names are not resolved here: the charger resolves them when it fetches, possibly
    days later and through its own resolver, so an answer we got now would prove nothing
    (and a name can be re-pointed after the check). Only literal addresses are judged."""
    if not isinstance(value, str) or not value:
        raise ValidationError("Enter a URL.", code="invalid")
    if any(char.isspace() or char == "\\" or ord(char) < 32 for char in value):
        raise ValidationError("Enter a URL without spaces, control characters or backslashes.", code="invalid")
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ValidationError("Enter a valid URL.", code="invalid") from None
    if parts.scheme.lower() not in REMOTE_URL_SCHEMES:
        raise ValidationError(
            "Only %(schemes)s URLs can be sent to a charger.",
            code="scheme",
            params={"schemes": ", ".join(REMOTE_URL_SCHEMES)},
        )
    try:
        parts.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError:
        raise ValidationError("The URL's port is not valid.", code="invalid") from None
    if parts.netloc.count("@") > 1:  # parsers disagree on which "@" ends the user part
        raise ValidationError("The URL's user name or password may not contain '@'.", code="invalid")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValidationError("The URL needs a host name or address.", code="invalid")
    if not settings.OCPP_ALLOW_PRIVATE_URLS:
        _validate_public_host(host)


def _validate_public_host(host: str) -> None:
    if ":" in host:  # an IPv6 literal (urlsplit has taken the brackets off)
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValidationError("The URL's IPv6 address is not valid.", code="invalid") from None
        refuse_internal_address(address)
        return
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            address = ipaddress.IPv4Address(host)  # four decimal numbers, no leading zeros
        except ValueError:
            raise ValidationError(
                "Write IPv4 addresses as four decimal numbers (a.b.c.d); other forms are read differently "
                "by different chargers.",
                code="invalid",
            ) from None
        refuse_internal_address(address)
        return
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise ValidationError(
            "The URL's host name is not valid (international names in their xn-- form).", code="invalid"
        )
    if labels[-1] == "localhost":
        raise ValidationError("URLs to localhost are not allowed.", code="private")


def refuse_internal_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """ValidationError for an address of our own network (S20); integrations' webhooks call it
    on every address a host name resolves to."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            refuse_internal_address(embedded)
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    ):
        raise ValidationError(
            "URLs to loopback, private, link-local, multicast or reserved addresses (%(address)s) are not allowed.",
            code="private",
            params={"address": str(address)},
        )
