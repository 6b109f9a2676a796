"""The WebSocket handshake: which charger this is, whether it may connect, and in which
OCPP version. Everything is decided before the socket is accepted."""

import base64
import binascii
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from ocpp_gateway.lookups import CHARGER_ACCESS
from sites.credentials import verify_charger_key
from sites.models import SecurityProfile
from sites.selectors import ChargerAccess, charger_access
from sites.services import auto_register_charger, promote_pending_key, record_unknown_charger_attempt
from sites.validators import validate_charge_point_id

logger = logging.getLogger(__name__)


class HandshakeRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Admission:
    charger: ChargerAccess | None  # None: an unknown charger held Pending by policy
    subprotocol: str | None  # None: no common subprotocol; accept, then close at once


def negotiate_subprotocol(offered: list[str]) -> str | None:
    """Our preferred supported subprotocol among those offered. Never one that was not
    offered (S2); case matters (RFC 6455 sec. 4.1: subprotocol tokens are case-sensitive)."""
    return next((protocol for protocol in settings.OCPP_SUBPROTOCOLS if protocol in offered), None)


def basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    return (username, password) if separator else None


def _headers(scope: dict) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _client_address(scope: dict) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0])


def check_credentials(charger: ChargerAccess, scope: dict, headers: dict[str, str]) -> None:
    """Security profiles of the 1.6 security whitepaper sec. 2 (S3, S4)."""
    profile = charger.security_profile
    if profile == SecurityProfile.NONE:
        return
    if profile >= SecurityProfile.TLS_BASIC and scope.get("scheme") != "wss":
        # uvicorn sets "wss" only for TLS it terminated or X-Forwarded-Proto from a trusted proxy.
        raise HandshakeRefused(403, "this charger must connect over TLS")
    if profile == SecurityProfile.TLS_CLIENT_CERT:
        raise HandshakeRefused(403, "security profile 3 (client certificates) is not supported yet")
    credentials = basic_credentials(headers)
    if credentials is None:
        raise HandshakeRefused(401, "HTTP Basic authentication required")
    username, password = credentials
    # Never log the password (S3).
    if username != charger.charge_point_id or not charger.auth_key_hash:
        raise HandshakeRefused(401, "wrong charge point id or key")
    if verify_charger_key(password, charger.auth_key_hash):
        return
    # A key rotation whose answer never came: the new key proves the charger took it (S7).
    if charger.pending_auth_key_hash and verify_charger_key(password, charger.pending_auth_key_hash):
        promote_pending_key(charger_id=charger.id)
        return
    raise HandshakeRefused(401, "wrong charge point id or key")


def _admit_sync(scope: dict, charge_point_id: str) -> Admission:
    try:
        validate_charge_point_id(charge_point_id)
    except ValidationError:
        raise HandshakeRefused(404, "not a valid charge point id") from None
    headers = _headers(scope)
    offered = list(scope.get("subprotocols") or [])
    charger = charger_access(charge_point_id)
    if charger is None:
        charger = _unknown_charger(charge_point_id, scope, offered)
        if charger is None:
            return Admission(charger=None, subprotocol=negotiate_subprotocol(offered))
    check_credentials(charger, scope, headers)
    return Admission(charger=charger, subprotocol=negotiate_subprotocol(offered))


class AttemptThrottle:
    """Rate limit for inbox writes: at most one database write per charge point id per
    `interval` seconds; attempts in between are counted in memory and added to the next
    write. Remembers at most `capacity` ids (the least recently seen are forgotten)."""

    def __init__(self, interval: float, capacity: int = 10_000) -> None:
        self.interval = interval
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def attempts_to_record(self, key: str, now: float | None = None) -> int:
        """How many attempts to write now (0: just count this one for later)."""
        now = time.monotonic() if now is None else now
        last_write, pending = self._seen.pop(key, (float("-inf"), 0))
        if now - last_write < self.interval:
            self._seen[key] = (last_write, pending + 1)
            return 0
        self._seen[key] = (now, 0)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return pending + 1


_unknown_attempts = AttemptThrottle(interval=settings.OCPP_UNKNOWN_CHARGER_RECORD_INTERVAL)


def _unknown_charger(charge_point_id: str, scope: dict, offered: list[str]) -> ChargerAccess | None:
    """Apply the unknown-charger policy (S1). Returns the charger if it was just registered,
    None if it is to be held Pending; raises to refuse."""
    attempts = _unknown_attempts.attempts_to_record(charge_point_id)
    if attempts:
        record_unknown_charger_attempt(
            charge_point_id=charge_point_id,
            remote_address=_client_address(scope),
            subprotocols=",".join(offered),
            at=timezone.now(),
            attempts=attempts,
        )
    policy = settings.OCPP_UNKNOWN_CHARGER_POLICY
    if policy == "pending":
        return None
    if policy == "register" and settings.OCPP_AUTO_REGISTER_ORGANIZATION:
        auto_register_charger(
            charge_point_id=charge_point_id, organization_slug=settings.OCPP_AUTO_REGISTER_ORGANIZATION
        )
        return charger_access(charge_point_id)
    # OCPP-J 1.6 sec. 3.2: an unknown identifier SHOULD get HTTP 404.
    raise HandshakeRefused(404, "unknown charge point id")


async def admit(scope: dict, charge_point_id: str) -> Admission:
    """The usual case without a hop to the database thread: a known charger, looked up with
    the others connecting at the same moment, whose key needs no promotion (no write)."""
    try:
        validate_charge_point_id(charge_point_id)
    except ValidationError:
        raise HandshakeRefused(404, "not a valid charge point id") from None
    charger = await CHARGER_ACCESS.get(charge_point_id)
    if charger is None or charger.pending_auth_key_hash:
        return await database_sync_to_async(_admit_sync)(scope, charge_point_id)
    check_credentials(charger, scope, _headers(scope))
    return Admission(charger=charger, subprotocol=negotiate_subprotocol(list(scope.get("subprotocols") or [])))
