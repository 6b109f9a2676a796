"""Id-token decisions: what the central system says about a token a charger presents, alone
(an authorization request) or as part of opening or closing a session. Read-only."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from charging.models import ChargingSession, IdToken, IdTokenStatus, SessionState
from sites.models import Charger

# A token that is valid but already has a session open elsewhere (1.6 sec. 7.2, 2.0.1
# AuthorizationStatusEnumType: the same value in both).
CONCURRENT_TX = "ConcurrentTx"


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


def decide(token: IdToken | None, active: dict[int, set], *, now: dt.datetime, exclude=None) -> TokenDecision:
    """What the central system says about a token: its status, ConcurrentTx while it has a
    session open other than `exclude` (a retransmitted start asks about its own session)."""
    if token is None:
        return TokenDecision(IdTokenStatus.INVALID, known=False)
    status = token.effective_status(now)
    if status == IdTokenStatus.ACCEPTED and active.get(token.pk, set()) - {exclude}:
        status = CONCURRENT_TX
    return TokenDecision(status, token.expires_at, token.parent_id_tag)


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
    active = active_sessions_of_tokens({token.pk for token in tokens.values()})
    return [decide(tokens.get(token_key(organizations.get(c.charger_id, 0), c.token)), active, now=now) for c in checks]


def authorize_token(*, charger_id: int, token: str, now: dt.datetime) -> TokenDecision:
    [decision] = authorize_tokens([TokenCheck(charger_id, token)], now=now)
    return decision
