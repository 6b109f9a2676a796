"""The seam between the event loop and the database: every crossing of the gateway from async
code to the ORM goes through this module (DESIGN.md, "OCPP gateway"). Nothing else in
`ocpp_gateway` runs sync code in a thread, except the group-commit engine behind it
(`group_commit.py`); a test checks that.

The doors, from the most used to the rarest:

- Write now: `await BOOTS.submit(item)` and the other groups below, or
  `await write_now(service, **kwargs)` for a single service call. The item is written by the
  group-commit writer in the next round and the await returns once that round committed, so a
  charger's CALLRESULT always follows the commit (ACCEPTANCE R2, R19).
- Write behind: `LIVENESS.submit_nowait(item)`, `STATUS_NOTIFICATIONS.submit_nowait(item)`: not
  awaited, written with the next round (R9: an outage must not stop Heartbeats).
- Batched reads: `await CHARGER_ACCESS.get(key)`, `await AUTHORIZATIONS.get(key)`: what many
  connections ask in the same moment is read with a few queries, in a reader thread each.
- Threads of their own: `OwnThread` for an engine that keeps its connection between calls (the
  message log's writer, the batched readers).
- One-off calls: `await one_off(function, *args, **kwargs)` on Channels' database thread
  (`database_sync_to_async`), for the rare work that neither batches nor fits a writer round:
  the handshake of an unknown charger or of one whose key must be promoted (reads, a write,
  then a refusal raised as an exception), and the security event of a throttled handshake.

The groups and the lookups are the engines' own objects, re-exported: the hot path calls their
methods directly, without a wrapper (no extra frame, coroutine or await per message).

Command claim and settlement go through `one_off`, on Channels' database thread: they are rare
(a few per charger per day), each is its own atomic transaction (the claim locks the charger's
oldest queued command with SELECT ... FOR UPDATE; a settlement sends `command_settled` with
`transaction.on_commit`, as every other signal), and keeping them out of the writer's rounds
keeps a round's statements the fixed handful the hot path is measured with. Moving them to
`write_now` (the writer's rounds, ordered with the charger's other writes) is a one-line change
per call in the consumer if a reason appears; the group-commit writer is then the only writer.
"""

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections

from common.db import with_fresh_connection
from ocpp_gateway.group_commit import (
    BOOTS,
    CONNECTIONS,
    LIVENESS,
    METER_VALUES,
    STARTS,
    STATUS_NOTIFICATIONS,
    STOPS,
    TRANSACTION_EVENTS,
    TRANSACTIONS,
    drain_group_commits,
)
from ocpp_gateway.lookups import BatchedLookup, authorizations
from sites.selectors import chargers_access

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "AUTHORIZATIONS",
    "BOOTS",
    "CHARGER_ACCESS",
    "CONNECTIONS",
    "LIVENESS",
    "METER_VALUES",
    "STARTS",
    "STATUS_NOTIFICATIONS",
    "STOPS",
    "TRANSACTIONS",
    "TRANSACTION_EVENTS",
    "OwnThread",
    "drain_group_commits",
    "one_off",
    "write_now",
]


# --- Write now ---------------------------------------------------------------------------


def write_now(service: Callable[..., R], /, **kwargs: Any) -> Awaitable[R]:
    """Call `service(**kwargs)` in the next group-commit round; the awaitable gives its result
    once the round committed, or raises what the service raised. A `charger_id` keyword orders
    the call with that charger's other writes and locks its row for the round."""
    return TRANSACTIONS.submit(partial(service, **kwargs))


# --- Threads of their own -----------------------------------------------------------------


class OwnThread:
    """Threads started on first use, each keeping its database connection between calls (a
    stale or broken one is replaced around each call: `with_fresh_connection`)."""

    def __init__(self, name: str, workers: int = 1) -> None:
        self.name = name
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None

    def run(self, function: Callable[..., R], /, *args: Any) -> Awaitable[R]:
        """`function(*args)` in one of these threads."""
        in_thread = sync_to_async(with_fresh_connection, thread_sensitive=False, executor=self._started())
        return in_thread(function, *args)

    async def close_connections(self) -> None:
        """Close the connections of these threads (shutdown); nothing to do if never started."""
        if self._executor is not None:
            await sync_to_async(connections.close_all, thread_sensitive=False, executor=self._executor)()

    def _started(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name)
        return self._executor


# --- Batched reads ------------------------------------------------------------------------

# The chargers of the handshakes of a reconnect storm.
CHARGER_ACCESS = BatchedLookup("charger-access", chargers_access, OwnThread("lookup-charger-access"))
# Authorize (1.6 sec. 4.1): read-only, so answered without waiting for a commit.
AUTHORIZATIONS = BatchedLookup("authorize", authorizations, OwnThread("lookup-authorize"))


# --- One-off calls ------------------------------------------------------------------------


def one_off(function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
    """`function(*args, **kwargs)` on Channels' database thread, which closes stale
    connections around it. For rare calls only: that thread is shared by all sync Django code
    of the process."""
    return database_sync_to_async(function)(*args, **kwargs)
