"""Group commit for the gateway's writes: what many connections submit is written by one
writer thread, one transaction per round instead of one per message.

Durability is unchanged: `submit` returns only after the transaction holding the item has
committed, so the charger's CALLRESULT still follows the commit. Rounds form by themselves:
while one is being written the next accumulates, so an idle gateway writes at once and a busy
one writes large rounds (no timer adds latency). A round takes what is queued in every group
(transactional messages, StatusNotifications, MeterValues, signs of life) and commits it
together: on PostgreSQL the commit's WAL flush, not the statements, is what a message costs.

A round that fails is retried group by group, and a group that fails item by item, each in
its own transaction, so one message that cannot be stored (R8) or a database outage (R9) fails only
the messages it concerns, with the same exceptions a direct call would raise.

What is written behind the reply (`submit_nowait`: last-seen times, StatusNotifications) has
nobody to tell of a failure: a group that is `retried` writes such items again after an outage
(a timer, and `drain` at shutdown); the others drop them."""

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Set
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction

from charging.services import close_sessions, open_sessions, record_meter_reports, record_transaction_events
from common.db import with_fresh_connection
from ocpp_gateway import fault_log, stats
from sites.commands import queued_command_ids_of
from sites.models import Charger
from sites.services import (
    Connecting,
    mark_connected_many,
    record_boots,
    record_liveness,
    record_status_notifications,
)

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Write = Callable[[list], list | None]

MAX_BATCH = 1000
# Written-behind items whose round failed for want of a database (R9) are written again after
# this delay, up to this many waiting at once (beyond that they are dropped and logged).
RETRY_DELAY = 1.0
MAX_RETRYING = 100_000
# A round starts beside one being written only once this many items are queued: below that
# the next round waits and grows (fewer statements per message), and the event loop keeps
# more of the GIL (at 10,000 chargers, Heartbeat p95 58 ms with one writer against 322 ms
# with two); above it, the rounds overlap (throughput).
OVERLAP_AFTER = 300

_writer: ThreadPoolExecutor | None = None


def writers() -> int:
    """Rounds written at the same time, each by a thread with its own connection. One on
    SQLite (one writer at a time anyway: two would wait on each other's lock)."""
    if connections["default"].vendor == "sqlite":
        return 1
    return max(1, settings.OCPP_GROUP_COMMIT_WRITERS)


def _writer_executor() -> ThreadPoolExecutor:
    global _writer
    if _writer is None:
        _writer = ThreadPoolExecutor(max_workers=writers(), thread_name_prefix="ocpp-group-commit")
    return _writer


def run_in_every_writer(function: Callable[[], None]) -> None:
    """Run `function` once in each writer thread (e.g. to install an execute wrapper on each
    thread's connection). Blocking; call it from a thread, not the event loop."""
    executor = _writer_executor()
    count = executor._max_workers
    barrier = threading.Barrier(count)

    def in_thread() -> None:
        function()
        barrier.wait(timeout=10)  # holds this thread so that the next call gets another one

    for future in [executor.submit(in_thread) for _ in range(count)]:
        future.result()


def _results(write: Write, items: list) -> list:
    results = write(items)
    return list(results) if results is not None else [None] * len(items)


def _one_by_one(write: Write, items: list) -> list:
    outcomes: list[Any] = []
    for item in items:
        try:
            with transaction.atomic():
                outcomes += _results(write, [item])
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _on_its_own(write: Write, items: list) -> list:
    """A batch in a transaction of its own; item by item if that fails too."""
    try:
        with transaction.atomic():
            return _results(write, items)
    except Exception as exc:
        if len(items) == 1:
            return [exc]
        # Expected (a row the database refuses, R8; an outage, R9): one line; a bug: a traceback.
        fault_log.failure(logger, "group commit", None, "a batch of %d failed; writing it one by one", len(items),
                          error=exc)  # fmt: skip
    return _one_by_one(write, items)


def _lock_chargers(charger_ids: Set[int]) -> None:
    """The rows of these chargers, locked in id order: every writer takes them in the same
    order, so concurrent rounds (and processes) wait for each other instead of deadlocking."""
    if charger_ids:
        list(Charger.objects.select_for_update(no_key=True).filter(pk__in=charger_ids).order_by("pk").values("pk"))


def write_round_in_thread(batches: list[tuple[Write, list]], charger_ids: Set[int] = frozenset()) -> list[list]:
    """Runs in a writer thread: per batch, the results per item or the exception each raised."""
    try:
        return with_fresh_connection(_write_round, batches, charger_ids)
    except Exception as exc:  # the retry itself failed (e.g. no connection at all)
        return [[exc] * len(items) for _, items in batches]


def _write_round(batches: list[tuple[Write, list]], charger_ids: Set[int]) -> list[list]:
    try:
        with transaction.atomic():
            _lock_chargers(charger_ids)
            return [_results(write, items) for write, items in batches]
    except Exception as exc:
        fault_log.failure(logger, "group commit", None, "a round of %d batch(es) failed; writing them one by one",
                          len(batches), error=exc)  # fmt: skip
    return [_on_its_own(write, items) for write, items in batches]


class GroupCommit(Generic[Item]):
    """Items of one kind, written together by `write(items) -> results | None` (a service
    that runs inside the round's transaction)."""

    def __init__(
        self,
        name: str,
        write: Write,
        charger_of: Callable[[Any], int | None],
        max_batch: int = MAX_BATCH,
        *,
        retried: bool = False,
    ) -> None:
        self.name = name
        self.write = write
        # The charger whose rows an item writes: a round locks them all first (see Committer).
        self.charger_of = charger_of
        self.max_batch = max_batch
        self.queue: deque[tuple[Item, asyncio.Future | None]] = deque()
        self.committer: Committer | None = None  # set by Committer.register
        # Whether an item nobody waits for is written again when its round failed for want
        # of a database (its charger was already answered), or dropped (a last-seen time).
        self.retried = retried
        self.retrying: deque[tuple[Item, None]] = deque()
        self._retry_timer: asyncio.TimerHandle | None = None

    async def submit(self, item: Item) -> Any:
        """Queue the item and wait until it is committed; returns its result or raises its error."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        assert self.committer is not None  # noqa: S101 (set by Committer.register)
        self.committer.wake()
        return await future

    def submit_nowait(self, item: Item) -> None:
        """Queue an item nobody waits for (written behind the reply): written with the next
        round, and again later if that fails for want of a database and the group is `retried`."""
        self.queue.append((item, None))
        assert self.committer is not None  # noqa: S101 (set by Committer.register)
        self.committer.wake()

    def take(self, busy: set[int]) -> list[tuple[Item, asyncio.Future | None]]:
        """Up to max_batch items, in order, leaving those of the chargers in `busy` queued (in
        their order) for a later round."""
        if not busy:
            return [self.queue.popleft() for _ in range(min(self.max_batch, len(self.queue)))]
        taken: list[tuple[Item, asyncio.Future | None]] = []
        kept: deque[tuple[Item, asyncio.Future | None]] = deque()
        while self.queue and len(taken) < self.max_batch:
            entry = self.queue.popleft()
            (kept if self.charger_of(entry[0]) in busy else taken).append(entry)
        kept.extend(self.queue)
        self.queue = kept
        return taken

    def settle(self, taken: list, outcomes: list) -> None:
        again: list[tuple[Item, None]] = []
        for entry, outcome in zip(taken, outcomes, strict=True):
            future = entry[1]
            if future is None:
                if isinstance(outcome, Exception):
                    if self._retries(outcome, len(again)):
                        again.append(entry)
                    else:  # a last-seen time is replaced by the next; a status report is not
                        level = logging.ERROR if self.retried else logging.WARNING
                        fault_log.fault(logger, self.name, None, "a write behind the reply was lost", error=outcome,
                                        level=level)  # fmt: skip
                continue
            if future.done():  # the connection closed meanwhile
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if again:
            self._retry_later(again)

    def _retries(self, error: Exception, also_retrying: int) -> bool:
        """Only an outage is worth another attempt: data the database refuses (R8) would be
        refused again."""
        room = len(self.retrying) + also_retrying < MAX_RETRYING
        return self.retried and isinstance(error, OperationalError | InterfaceError) and room

    def _retry_later(self, entries: list) -> None:
        fault_log.fault(logger, self.name, None, "%d write(s) behind the reply failed; retrying in %s s", len(entries),
                        RETRY_DELAY)  # fmt: skip
        self.retrying.extend(entries)
        if self._retry_timer is None:
            self._retry_timer = asyncio.get_running_loop().call_later(RETRY_DELAY, self.retry_now)

    def forget_retry_timer(self) -> None:
        """The loop of the timer is gone: what waits for it goes with the next round instead."""
        self._retry_timer = None
        self._requeue_retrying()

    def retry_now(self) -> None:
        """Queue the items waiting for another attempt ahead of the others."""
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        if self.retrying:
            self._requeue_retrying()
            assert self.committer is not None  # noqa: S101 (set by Committer.register)
            self.committer.wake()

    def _requeue_retrying(self) -> None:
        self.queue.extendleft(reversed(self.retrying))
        self.retrying.clear()


class Committer:
    """Writes rounds of every group on the running event loop, up to `writers()` at a time.

    Rounds overlap on PostgreSQL: while one waits for its commit, the next is written on
    another connection. Rounds being written at the same time never share a charger: the
    items of a charger that a round is writing wait for a later round, so the other chargers'
    items need not wait on that charger's row locks (every round would, as each holds most
    of the chargers at load). A round still first locks the rows of its chargers, in id order,
    in one statement, for the writers of other processes: those then wait for each other and
    can never deadlock."""

    def __init__(self) -> None:
        self.groups: list[GroupCommit] = []
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._rounds: set[asyncio.Future] = set()
        # The chargers of the rounds being written: their next items wait for a later round
        # instead of making a whole round wait on their row locks.
        self._busy: set[int] = set()

    def register(self, group: GroupCommit) -> GroupCommit:
        self.groups.append(group)
        group.committer = self
        return group

    def wake(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._rounds = set()
            self._busy = set()
            for group in self.groups:  # a retry timer of a loop that is gone never fires
                group.forget_retry_timer()
            self._task = loop.create_task(self._run(), name="ocpp-group-commit")
        assert self._wakeup is not None  # noqa: S101 (set with the task)
        self._wakeup.set()

    def _pending(self) -> bool:
        return any(group.queue for group in self.groups)

    def _another_round_now(self) -> bool:
        if not self._rounds:
            return True
        return len(self._rounds) < writers() and sum(len(group.queue) for group in self.groups) >= OVERLAP_AFTER

    def _take_round(self) -> tuple[list[tuple[GroupCommit, list]], set[int]]:
        """What the next round writes, and its chargers, marked busy at once: a round started
        in the same moment must not take them too."""
        taken = [(group, group.take(self._busy)) for group in self.groups if group.queue]
        taken = [(group, items) for group, items in taken if items]
        chargers = {
            charger for group, items in taken for item, _ in items if (charger := group.charger_of(item)) is not None
        }
        self._busy |= chargers
        return taken, chargers

    async def _run(self) -> None:
        while True:
            assert self._wakeup is not None  # noqa: S101 (set before the task is created)
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending() and self._another_round_now():
                taken, chargers = self._take_round()
                if not taken:  # all that is queued waits for chargers being written
                    break
                round_ = asyncio.ensure_future(self._write_round(taken, chargers))
                self._rounds.add(round_)
                round_.add_done_callback(self._round_done)

    def _round_done(self, round_: asyncio.Future) -> None:
        self._rounds.discard(round_)
        if self._wakeup is not None:
            self._wakeup.set()

    async def _write_round(self, taken: list[tuple[GroupCommit, list]], chargers: set[int]) -> None:
        try:
            await self._write_taken(taken, chargers)
        finally:
            self._busy -= chargers

    async def _write_taken(self, taken: list[tuple[GroupCommit, list]], chargers: set[int]) -> None:
        batches = [(group.write, [item for item, _ in items]) for group, items in taken]
        in_thread = sync_to_async(write_round_in_thread, thread_sensitive=False, executor=_writer_executor())
        started = time.perf_counter()
        try:
            outcomes = await in_thread(batches, chargers)
        except BaseException as exc:  # cancelled at shutdown: nobody is told the items are stored
            error = exc if isinstance(exc, Exception) else RuntimeError("shutting down")
            for group, items in taken:
                group.settle(items, [error] * len(items))
            raise
        stats.note_round(sum(len(items) for _, items in batches), time.perf_counter() - started)
        for (group, items), group_outcomes in zip(taken, outcomes, strict=True):
            group.settle(items, group_outcomes)

    async def drain(self) -> None:
        """Write everything queued now, including what waits for another attempt, and wait for
        the rounds being written (shutdown, tests). What fails again stays waiting."""
        for group in self.groups:
            group.retry_now()
        while self._pending() or self._rounds:
            if self._rounds:
                await asyncio.gather(*self._rounds, return_exceptions=True)
            else:
                await self._write_round(*self._take_round())


COMMITTER = Committer()


async def drain_group_commits() -> None:
    """Write what is queued (on shutdown) and release the writer's connection."""
    await COMMITTER.drain()
    for group in COMMITTER.groups:
        if group.retrying:
            logger.error("%s: %d write(s) behind the reply lost at shutdown", group.name, len(group.retrying))
    if _writer is not None:
        await sync_to_async(run_in_every_writer)(connections.close_all)


# --- the gateway's groups, in the order a round writes them ------------------------------


def _run_each(calls: list[partial]) -> list:
    return [call() for call in calls]


# Transactional messages (Boot, Start, Stop, ...) and connection changes: each call is a
# service whose writes must be durable before the reply. Through the same writer, so that
# every write of the process goes through one thread: on SQLite, writers on two threads would
# wait on each other's lock with the busy handler's sleeps (StartTransaction p50 1.9 s).
def _charger_of_call(call: partial) -> int | None:
    return call.keywords.get("charger_id")


def _charger_of_item(item) -> int:
    return item.charger_id


def _connect(sockets: list[Connecting]) -> list[tuple[str, list[int]]]:
    """Sockets taking over their chargers (R15), with the commands waiting for each (R16)."""
    previous = mark_connected_many(sockets)
    waiting = queued_command_ids_of({socket.charger_id for socket in sockets})
    return [(channel, waiting.get(socket.charger_id, [])) for channel, socket in zip(previous, sockets, strict=True)]


CONNECTIONS = COMMITTER.register(GroupCommit("connections", _connect, _charger_of_item))
BOOTS = COMMITTER.register(GroupCommit("boot-notifications", record_boots, _charger_of_item))
STARTS = COMMITTER.register(GroupCommit("start-transactions", open_sessions, _charger_of_item))
STOPS = COMMITTER.register(GroupCommit("stop-transactions", close_sessions, _charger_of_item))
# A transaction's events as a charger reports them one by one (2.0.1 TransactionEvent): the
# readings in between, most of them, in a few statements per round.
TRANSACTION_EVENTS = COMMITTER.register(GroupCommit("transaction-events", record_transaction_events, _charger_of_item))
# The rarer transactional messages (DataTransfer, firmware and diagnostics reports, unknown
# chargers) and disconnections, each a call of its own.
TRANSACTIONS = COMMITTER.register(GroupCommit("transactions", _run_each, _charger_of_call))
# StatusNotifications are written behind the reply: they are not transaction-related messages
# (1.6 sec. 3.7), so a charger need not send one again after a CALLERROR. We write them again
# after an outage instead; R23 makes the order in which they land irrelevant.
STATUS_NOTIFICATIONS = COMMITTER.register(
    GroupCommit("status-notifications", record_status_notifications, _charger_of_item, retried=True)
)
METER_VALUES = COMMITTER.register(GroupCommit("meter-values", record_meter_reports, _charger_of_item))
# Heartbeat and last-seen times: nobody waits for them (R9: an outage must not stop Heartbeats).
LIVENESS = COMMITTER.register(GroupCommit("liveness", record_liveness, _charger_of_item))
