"""Id-token decisions: what the central system says about a token a charger presents, alone
(an authorization request) or as part of opening or closing a session. Read-only."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from charging.models import ChargingSession, IdToken, IdTokenPlace, IdTokenStatus, SessionState
from sites.models import Charger

# A token that is valid but already has a session open elsewhere (1.6 sec. 7.2, 2.0.1
# AuthorizationStatusEnumType: the same value in both).
CONCURRENT_TX = "ConcurrentTx"
# A valid token that may not charge at this charger (2.0.1 C01.FR.22; 1.6 has no such word and
# says Invalid).
NOT_AT_THIS_LOCATION = "NotAtThisLocation"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """A token presented at a charger, to be authorized."""

    charger_id: int
    token: str


@dataclass(frozen=True, slots=True)
class TokenDecision:
    """The central system's word on a token: its status, when it expires, its group (parent)."""

    status: str
    expires_at: dt.datetime | None = None
    parent: str = ""
    # False when no such token exists: 1.6 says Invalid, 2.0.1 has a word of its own (Unknown).
    known: bool = True
    # The EVSEs of the charger the token may charge at, when not all of them (2.0.1 C01.FR.20).
    evse_ids: tuple[int, ...] = ()
    # Its business priority, -9 to 9 (IdToken.charging_priority); 0 is the default.
    priority: int = 0


# Where a token may charge: (charger id, EVSE id, None for every EVSE of the charger).
Place = tuple[int, int | None]


@dataclass(frozen=True, slots=True)
class Where:
    """Where a token is presented: at a charger, and at one of its EVSEs when known."""

    charger_id: int
    evse_id: int | None = None


TokenKey = tuple[int, str]  # (organization id, token folded to lower case)


def token_key(organization_id: int, token: str) -> TokenKey:
    return (organization_id, token.lower())


def tokens_of(wanted: set[tuple[int, str]]) -> dict[TokenKey, IdToken]:
    """The IdTokens of many (organization, token) pairs in one query. Tokens are case-insensitive
    (1.6 CiString, 2.0.1 identifierString compared the same way here): compared as LOWER() of
    both sides, in the database (whose LOWER decides, as for the unique index on
    (organization, LOWER(id_tag)) that serves the query)."""
    if not wanted:
        return {}
    found = IdToken.objects.alias(folded=Lower("id_tag")).filter(
        organization_id__in={organization_id for organization_id, _ in wanted},
        folded__in=_folded({token for _, token in wanted}),
    )
    return {token_key(token.organization_id, token.id_tag): token for token in found}


def _folded(tokens: set[str]):
    """LOWER() of each token, computed by the database. On PostgreSQL one array parameter (a
    Django expression per token cost more to compile than the query took to run)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT LOWER(tag) FROM unnest(%s::text[]) AS tag", (sorted(tokens),))
    return [Lower(Value(token)) for token in tokens]


def active_sessions_of_tokens(token_ids: set[int]) -> dict[int, set]:
    """Per token, the sessions it has open (a second one is ConcurrentTx), by id."""
    active: dict[int, set] = {token_id: set() for token_id in token_ids}
    if token_ids:
        rows = ChargingSession.objects.filter(id_token_id__in=token_ids, state=SessionState.ACTIVE)
        for token_id, session_pk in rows.values_list("id_token_id", "pk"):
            active[token_id].add(session_pk)
    return active


def places_of(token_ids: set[int]) -> dict[int, list[Place]]:
    """Where each of these tokens may charge, in one query; a token that may charge anywhere
    has no entry."""
    places: dict[int, list[Place]] = {}
    if token_ids:
        rows = IdTokenPlace.objects.filter(token_id__in=token_ids).values_list("token_id", "charger_id", "evse_id")
        for token_id, charger_id, evse_id in rows:
            places.setdefault(token_id, []).append((charger_id, evse_id))
    return places


def decide(
    token: IdToken | None,
    active: dict[int, set],
    *,
    now: dt.datetime,
    exclude=None,
    places: dict[int, list[Place]] | None = None,
    where: Where | None = None,
) -> TokenDecision:
    """What the central system says about a token: its status, ConcurrentTx while it has a
    session open other than `exclude` (a retransmitted start asks about its own session), and,
    `where` it is presented, whether it may charge there and at which EVSEs (`places`)."""
    if token is None:
        return TokenDecision(IdTokenStatus.INVALID, known=False)
    status = token.effective_status(now)
    evse_ids: tuple[int, ...] = ()
    allowed = (places or {}).get(token.pk)
    if status == IdTokenStatus.ACCEPTED and allowed is not None and where is not None:
        here = _evses_allowed(allowed, where.charger_id)
        if here is None or (here and where.evse_id is not None and where.evse_id not in here):
            status = NOT_AT_THIS_LOCATION  # C01.FR.22
        else:
            evse_ids = here  # C01.FR.19/20: empty for every EVSE
    if status == IdTokenStatus.ACCEPTED and active.get(token.pk, set()) - {exclude}:
        status = CONCURRENT_TX
    return TokenDecision(
        status, token.expires_at, token.parent_id_tag, evse_ids=evse_ids, priority=token.charging_priority
    )


def _evses_allowed(places: list[Place], charger_id: int) -> tuple[int, ...] | None:
    """The EVSEs of the charger among `places`: () for all of them, None for none."""
    here = [evse_id for place_charger, evse_id in places if place_charger == charger_id]
    if not here:
        return None
    if None in here:
        return ()
    return tuple(sorted({evse_id for evse_id in here if evse_id is not None}))


def organizations_of(charger_ids: set[int], *, lock: bool = False) -> dict[int, int]:
    """Organization id per charger; with `lock`, the chargers' rows locked in id order (so
    concurrent batches wait for each other instead of deadlocking)."""
    chargers = Charger.objects.filter(pk__in=charger_ids).order_by("pk")
    if lock:
        chargers = chargers.select_for_update(no_key=True, of=("self",))
    return dict(chargers.values_list("pk", "site__organization_id"))


def authorize_tokens(checks: list[TokenCheck], *, now: dt.datetime) -> list[TokenDecision]:
    """Authorize many tokens, of one or many chargers, in three queries."""
    organizations = organizations_of({check.charger_id for check in checks})
    wanted = {(organizations[c.charger_id], c.token) for c in checks if c.charger_id in organizations}
    tokens = tokens_of(wanted)
    token_ids = {token.pk for token in tokens.values()}
    active = active_sessions_of_tokens(token_ids)
    places = places_of(token_ids)
    return [
        decide(
            tokens.get(token_key(organizations.get(c.charger_id, 0), c.token)),
            active,
            now=now,
            places=places,
            where=Where(c.charger_id),
        )
        for c in checks
    ]


def authorize_token(*, charger_id: int, token: str, now: dt.datetime) -> TokenDecision:
    [decision] = authorize_tokens([TokenCheck(charger_id, token)], now=now)
    return decision
