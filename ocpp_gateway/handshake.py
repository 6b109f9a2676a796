"""The WebSocket handshake: which charger this is, whether it may connect, and in which
OCPP version. Everything is decided before the socket is accepted."""

import base64
import binascii
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils import timezone

from ocpp_gateway import protocols
from ocpp_gateway.client_certificates import check_certificate, presented_certificate
from ocpp_gateway.seam import CHARGER_ACCESS, one_off
from ocpp_gateway.throttle import KeyedLimiter, Rate, parse_rate
from sites.certificates.identity import ChargerIdentity
from sites.credentials import verify_charger_key
from sites.models import SecurityProfile
from sites.security_events import (
    CLIENT_CERTIFICATE_REFUSED,
    FAILED_LOGIN,
    HANDSHAKES_THROTTLED,
    PROFILE_DOWNGRADE,
    record_failed_login,
    record_security_event,
)
from sites.selectors import ChargerAccess, charger_access
from sites.services import (
    auto_register_charger,
    promote_pending_key,
    promote_security_profile,
    record_unknown_charger_attempt,
)
from sites.validators import validate_charge_point_id

logger = logging.getLogger(__name__)


class HandshakeRefused(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        retry_after: int | None = None,
        *,
        security_event: str = "",
        charger_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # seconds, for a 429
        # The security event the refusal is (a failed login, a downgrade), about that charger.
        self.security_event = security_event
        self.charger_id = charger_id
        # Recorded with the event: e.g. the refused certificate's subject, serial and fingerprint.
        self.detail = detail or {}


@dataclass(frozen=True, slots=True)
class Admission:
    charger: ChargerAccess | None  # None: an unknown charger held Pending by policy
    subprotocol: str | None  # None: no common subprotocol; accept, then close at once


def negotiate_subprotocol(offered: list[str], charger: ChargerAccess | None = None) -> str | None:
    """Our preferred subprotocol among those offered: the charger's own preferred version first
    (a station offering both gets the one configured for it), then OCPP_SUBPROTOCOLS in order;
    only those enabled there and registered in `protocols.REGISTRY` (one the gateway speaks).
    Never one that was not offered (S2); case matters (RFC 6455 sec. 4.1: subprotocol tokens
    are case-sensitive)."""
    enabled = list(settings.OCPP_SUBPROTOCOLS)
    preferred = protocols.subprotocol_of(charger.preferred_ocpp_version) if charger is not None else None
    if preferred in enabled:
        enabled.remove(preferred)
        enabled.insert(0, preferred)
    return next((protocol for protocol in enabled if protocol in offered and protocols.is_known(protocol)), None)


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


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _client_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0])


def check_credentials(charger: ChargerAccess, scope: Mapping[str, Any], headers: dict[str, str]) -> None:
    """Security profiles of the 1.6 security whitepaper sec. 2 (S3, S4). A charger moving to a
    higher profile (A05) is tried with that one first: passing it makes it the charger's profile
    (A05.FR.09); failing it, the charger may have fallen back to its previous one (A05.FR.08)."""
    target = charger.security_profile_target
    if target is not None and target > charger.security_profile:
        try:
            check_profile(charger, target, scope, headers)
        except HandshakeRefused:
            pass
        else:
            promote_security_profile(charger_id=charger.id, profile=target)
            return
    check_profile(charger, charger.security_profile, scope, headers)


def check_profile(charger: ChargerAccess, profile: int, scope: Mapping[str, Any], headers: dict[str, str]) -> None:
    """The credentials `profile` asks for, or HandshakeRefused naming the security event."""
    if profile == SecurityProfile.NONE:
        return
    if profile >= SecurityProfile.TLS_BASIC and scope.get("scheme") != "wss":
        # uvicorn sets "wss" only for TLS it terminated or X-Forwarded-Proto from a trusted proxy.
        # A charger of profile 2 or 3 without TLS is a downgrade (whitepaper sec. 2.1: a lower
        # profile is never accepted), recorded for the operator.
        raise HandshakeRefused(
            403, "this charger must connect over TLS", security_event=PROFILE_DOWNGRADE, charger_id=charger.id
        )
    if profile == SecurityProfile.TLS_CLIENT_CERT:
        check_client_certificate(charger, scope, headers)
        return  # the certificate authenticates the charger: no HTTP Basic (whitepaper sec. 2.5)
    credentials = basic_credentials(headers)
    if credentials is None:
        raise HandshakeRefused(
            401, "HTTP Basic authentication required", security_event=FAILED_LOGIN, charger_id=charger.id
        )
    username, password = credentials
    # Never log the password (S3).
    if username != charger.charge_point_id or not charger.auth_key_hash:
        raise HandshakeRefused(401, "wrong charge point id or key", security_event=FAILED_LOGIN, charger_id=charger.id)
    if verify_charger_key(password, charger.auth_key_hash):
        return
    # A key rotation whose answer never came: the new key proves the charger took it (S7).
    if charger.pending_auth_key_hash and verify_charger_key(password, charger.pending_auth_key_hash):
        promote_pending_key(charger_id=charger.id)
        return
    raise HandshakeRefused(401, "wrong charge point id or key", security_event=FAILED_LOGIN, charger_id=charger.id)


def check_client_certificate(charger: ChargerAccess, scope: Mapping[str, Any], headers: dict[str, str]) -> None:
    """Security profile 3 (whitepaper sec. 2.5): the charger's own certificate, or a 403
    before accept with a security event naming the problem."""
    pem = presented_certificate(scope, headers)
    if pem is None:
        # Basic credentials or nothing at all from a profile-3 charger: a downgrade (sec. 2.1).
        raise HandshakeRefused(
            403,
            "this charger must present its client certificate (security profile 3)",
            security_event=PROFILE_DOWNGRADE,
            charger_id=charger.id,
        )
    identity = ChargerIdentity(
        operator_name=charger.operator_name,
        charge_point_id=charger.charge_point_id,
        serial_number=charger.serial_number,
    )
    check = check_certificate(pem, identity, timezone.now())
    if check.problems:
        raise HandshakeRefused(
            403,
            "client certificate refused: " + "; ".join(check.problems),
            security_event=CLIENT_CERTIFICATE_REFUSED,
            charger_id=charger.id,
            detail={**check.detail, "problems": check.problems},
        )


def _admit_sync(scope: Mapping[str, Any], charge_point_id: str) -> Admission:
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
    return Admission(charger=charger, subprotocol=negotiate_subprotocol(offered, charger))


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


def _unknown_charger(charge_point_id: str, scope: Mapping[str, Any], offered: list[str]) -> ChargerAccess | None:
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


# Handshake limits (S11, S24), checked before any database lookup or key hashing.
HANDSHAKES_BY_ADDRESS = KeyedLimiter(parse_rate(settings.OCPP_HANDSHAKES_PER_ADDRESS))
FAILURES_BY_ADDRESS = KeyedLimiter(parse_rate(settings.OCPP_HANDSHAKE_FAILURES_PER_ADDRESS))
FAILURES_BY_ID = KeyedLimiter(parse_rate(settings.OCPP_HANDSHAKE_FAILURES_PER_ID))
# Refusals that count as failed attempts: unknown or invalid id, wrong or missing credentials.
COUNTED_FAILURES = {401, 403, 404}


def _retry_after(rate: Rate) -> int:
    """Seconds until the bucket holds a token again, at worst."""
    return max(1, round(rate.period / rate.count))


@dataclass(slots=True)
class _Attempt:
    """A handshake's standing against the failure limits: counted up front (a reservation,
    refunded if it succeeds) or only if it fails, and which limits it used up."""

    address: str
    charge_point_id: str
    reserved: list[tuple[KeyedLimiter, str]]
    tripping: list[str]


def check_handshake_limits(address: str, charge_point_id: str) -> _Attempt:
    """Refuse with 429 before any work: a flood from one address, or an id or address whose
    recent attempts failed too often (guessing keys or ids).

    Counting a failure only once it happened would let every attempt made at the same moment
    pass the check before the first of them has failed. So an attempt is counted up front, and
    refunded if it succeeds, against its id (a charger has one connection at a time) and
    against its address once that address has failed lately; an address without recent
    failures may connect any number at once (hundreds of chargers behind one NAT after a
    power cut), its attempts counted when they fail."""
    if not HANDSHAKES_BY_ADDRESS.take(address):
        raise HandshakeRefused(429, "too many handshakes from this address", _retry_after(HANDSHAKES_BY_ADDRESS.rate))
    limits = ((FAILURES_BY_ID, charge_point_id, "charge point id"), (FAILURES_BY_ADDRESS, address, "address"))
    for limiter, key, _ in limits:
        if limiter.exhausted(key):
            raise HandshakeRefused(429, "too many failed handshakes; retry later", _retry_after(limiter.rate))
    attempt = _Attempt(address, charge_point_id, reserved=[], tripping=[])
    for limiter, key, name in limits:
        if limiter is FAILURES_BY_ADDRESS and limiter.full(key):
            continue
        limiter.take(key)
        attempt.reserved.append((limiter, key))
        if limiter.exhausted(key):
            attempt.tripping.append(name)
    return attempt


def count_failure(attempt: _Attempt) -> list[str]:
    """Count a failed handshake where it was not counted up front; returns the limits that it
    used up ("charge point id", "address"), each recorded once as a security event."""
    tripped = list(attempt.tripping)
    if (FAILURES_BY_ADDRESS, attempt.address) not in attempt.reserved and FAILURES_BY_ADDRESS.rate.enabled:
        FAILURES_BY_ADDRESS.take(attempt.address)
        if FAILURES_BY_ADDRESS.exhausted(attempt.address):
            tripped.append("address")
    return tripped


def refund(attempt: _Attempt) -> None:
    for limiter, key in attempt.reserved:
        limiter.refund(key)


async def _record_throttling(address: str, charge_point_id: str, limits: list[str]) -> None:
    try:
        await one_off(
            record_security_event,
            charge_point_id=charge_point_id[:48],
            kind=HANDSHAKES_THROTTLED,
            detail={"remote_address": address, "limits": limits},
        )
    except DatabaseError:
        logger.exception("could not record the throttling of %r from %s", charge_point_id, address)


# At most one write per charger and address per interval for its refused logins; the attempts in
# between are counted in memory and added with the next write (a guessing charger is one row).
_refusals = AttemptThrottle(interval=settings.OCPP_SECURITY_EVENT_RECORD_INTERVAL)


async def _record_refusal(refusal: HandshakeRefused, address: str, charge_point_id: str) -> None:
    """A failed login, a downgrade or a refused client certificate, as a security event (S13):
    merged per charger and address (one row per interval: the first refusal's detail)."""
    attempts = _refusals.attempts_to_record(f"{refusal.security_event}|{charge_point_id}|{address}")
    if not attempts:
        return
    try:
        if refusal.security_event == FAILED_LOGIN:
            await one_off(
                record_failed_login,
                charge_point_id=charge_point_id,
                charger_id=refusal.charger_id,
                address=address,
                reason=refusal.reason,
                attempts=attempts,
            )
        else:
            await one_off(
                record_security_event,
                charge_point_id=charge_point_id,
                charger_id=refusal.charger_id,
                kind=refusal.security_event,
                detail={**refusal.detail, "address": address, "reason": refusal.reason},
            )
    except DatabaseError:
        logger.exception("could not record %s of %r from %s", refusal.security_event, charge_point_id, address)


async def admit(scope: Mapping[str, Any], charge_point_id: str) -> Admission:
    """Apply the handshake limits, then admit or refuse; only refusals count against them."""
    attempt = check_handshake_limits(_client_address(scope), charge_point_id)
    try:
        admission = await _admit(scope, charge_point_id)
    except HandshakeRefused as refusal:
        if refusal.status not in COUNTED_FAILURES:
            refund(attempt)
            raise
        tripped = count_failure(attempt)
        if tripped:
            # The failure that used up a limit: recorded once, not for every refusal after it.
            await _record_throttling(attempt.address, charge_point_id, tripped)
        if refusal.security_event:
            await _record_refusal(refusal, attempt.address, charge_point_id)
        raise
    except BaseException:
        refund(attempt)
        raise
    refund(attempt)
    return admission


async def _admit(scope: Mapping[str, Any], charge_point_id: str) -> Admission:
    """The usual case without a hop to the database thread: a known charger, looked up with
    the others connecting at the same moment, whose key or security profile needs no promotion
    (no write)."""
    try:
        validate_charge_point_id(charge_point_id)
    except ValidationError:
        raise HandshakeRefused(404, "not a valid charge point id") from None
    charger = await CHARGER_ACCESS.get(charge_point_id)
    if charger is None or charger.pending_auth_key_hash or charger.security_profile_target is not None:
        return await one_off(_admit_sync, scope, charge_point_id)
    check_credentials(charger, scope, _headers(scope))
    offered = list(scope.get("subprotocols") or [])
    return Admission(charger=charger, subprotocol=negotiate_subprotocol(offered, charger))
