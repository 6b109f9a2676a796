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
the messages it concerns, with the same exceptions a direct call would raise."""

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections, transaction

from charging.services import record_meter_values_batch
from sites.services import record_liveness, record_status_notifications

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Write = Callable[[list], list | None]

MAX_BATCH = 1000

# One writer thread: rounds never compete for SQLite's write lock, and the thread keeps one
# database connection.
_writer: ThreadPoolExecutor | None = None


def _writer_executor() -> ThreadPoolExecutor:
    global _writer
    if _writer is None:
        _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocpp-group-commit")
    return _writer


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
        logger.warning("a batch of %d failed; writing it one by one", len(items), exc_info=True)
    return _one_by_one(write, items)


def write_round_in_thread(batches: list[tuple[Write, list]]) -> list[list]:
    """Runs in the writer thread: per batch, the results per item or the exception each raised."""
    # As Django does around each request: drop a connection that broke (after an outage).
    close_old_connections()
    try:
        try:
            with transaction.atomic():
                return [_results(write, items) for write, items in batches]
        except Exception:
            logger.warning("group commit of %d batch(es) failed; writing them one by one", len(batches), exc_info=True)
        return [_on_its_own(write, items) for write, items in batches]
    except Exception as exc:  # the retry itself failed (e.g. no connection at all)
        return [[exc] * len(items) for _, items in batches]
    finally:
        close_old_connections()


class GroupCommit(Generic[Item]):
    """Items of one kind, written together by `write(items) -> results | None` (a service
    that runs inside the round's transaction)."""

    def __init__(self, name: str, write: Write, max_batch: int = MAX_BATCH) -> None:
        self.name = name
        self.write = write
        self.max_batch = max_batch
        self.queue: deque[tuple[Item, asyncio.Future | None]] = deque()

    async def submit(self, item: Item) -> Any:
        """Queue the item and wait until it is committed; returns its result or raises its error."""
        future = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        COMMITTER.wake()
        return await future

    def submit_nowait(self, item: Item) -> None:
        """Queue an item nobody waits for (a last-seen time): written with the next round."""
        self.queue.append((item, None))
        COMMITTER.wake()

    def take(self) -> list[tuple[Item, asyncio.Future | None]]:
        return [self.queue.popleft() for _ in range(min(self.max_batch, len(self.queue)))]

    def settle(self, taken: list, outcomes: list) -> None:
        for (_, future), outcome in zip(taken, outcomes, strict=True):
            if future is None:
                if isinstance(outcome, Exception):
                    logger.warning("%s: an unacknowledged write was lost: %s", self.name, outcome)
                continue
            if future.done():  # the connection closed meanwhile
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class Committer:
    """Writes rounds of every group, one at a time, on the running event loop."""

    def __init__(self) -> None:
        self.groups: list[GroupCommit] = []
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._writing: asyncio.Future | None = None

    def register(self, group: GroupCommit) -> GroupCommit:
        self.groups.append(group)
        return group

    def wake(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name="ocpp-group-commit")
        self._wakeup.set()

    def _pending(self) -> bool:
        return any(group.queue for group in self.groups)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending():
                await self._write_round()

    async def _write_round(self) -> None:
        taken = [(group, group.take()) for group in self.groups if group.queue]
        batches = [(group.write, [item for item, _ in items]) for group, items in taken]
        in_thread = sync_to_async(write_round_in_thread, thread_sensitive=False, executor=_writer_executor())
        self._writing = asyncio.ensure_future(in_thread(batches))
        try:
            outcomes = await asyncio.shield(self._writing)
        except BaseException as exc:  # cancelled at shutdown: nobody is told the items are stored
            error = exc if isinstance(exc, Exception) else RuntimeError("shutting down")
            for group, items in taken:
                group.settle(items, [error] * len(items))
            raise
        for (group, items), group_outcomes in zip(taken, outcomes, strict=True):
            group.settle(items, group_outcomes)

    async def drain(self) -> None:
        """Write everything queued now and wait for a round being written (shutdown, tests)."""
        while self._pending():
            await self._write_round()
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)


COMMITTER = Committer()


async def drain_group_commits() -> None:
    """Write what is queued (on shutdown) and release the writer's connection."""
    await COMMITTER.drain()
    if _writer is not None:
        await sync_to_async(connections.close_all, thread_sensitive=False, executor=_writer)()


# --- the gateway's groups, in the order a round writes them ------------------------------


def _run_each(calls: list[Callable[[], Any]]) -> list:
    return [call() for call in calls]


# Transactional messages (Boot, Start, Stop, ...) and connection changes: each call is a
# service whose writes must be durable before the reply. Through the same writer, so that
# every write of the process goes through one thread: on SQLite, writers on two threads would
# wait on each other's lock with the busy handler's sleeps (StartTransaction p50 1.9 s).
TRANSACTIONS = COMMITTER.register(GroupCommit("transactions", _run_each))
STATUS_NOTIFICATIONS = COMMITTER.register(GroupCommit("status-notifications", record_status_notifications))
METER_VALUES = COMMITTER.register(GroupCommit("meter-values", record_meter_values_batch))
# Heartbeat and last-seen times: nobody waits for them (R9: an outage must not stop Heartbeats).
LIVENESS = COMMITTER.register(GroupCommit("liveness", record_liveness))
