"""Group commit for the gateway's frequent writes (MeterValues, StatusNotification, signs of
life): what many connections submit is written by one writer thread, one transaction per
batch instead of one per message.

Durability is unchanged: `submit` returns only after the batch holding the item has
committed, so the charger's CALLRESULT still follows the commit. Batches form by themselves:
while one is being written the next accumulates, so an idle gateway writes at once and a
busy one writes large batches (no timer adds latency).

A batch that fails is retried item by item, each in its own transaction, so one message
that cannot be stored (R8) or a database outage (R9) fails only the messages it concerns,
with the same exceptions a direct call would raise."""

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

MAX_BATCH = 1000

# One writer thread for every group: batches of different kinds never compete for SQLite's
# write lock, and the thread keeps one database connection.
_writer: ThreadPoolExecutor | None = None


def _writer_executor() -> ThreadPoolExecutor:
    global _writer
    if _writer is None:
        _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocpp-group-commit")
    return _writer


def _in_transaction(write: Callable[[list], list | None], items: list) -> list:
    with transaction.atomic():
        results = write(items)
    return list(results) if results is not None else [None] * len(items)


def write_batch_in_thread(write: Callable[[list], list | None], items: list) -> list:
    """Runs in the writer thread: the results per item, or per item the exception it raised."""
    # As Django does around each request: drop a connection that broke (after an outage).
    close_old_connections()
    try:
        try:
            return _in_transaction(write, items)
        except Exception:
            if len(items) == 1:
                raise
            logger.warning("group commit of %d items failed; writing them one by one", len(items), exc_info=True)
        outcomes: list[Any] = []
        for item in items:
            try:
                outcomes += _in_transaction(write, [item])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
    except Exception as exc:  # the item-by-item retry itself failed (e.g. no connection at all)
        return [exc] * len(items)
    finally:
        close_old_connections()


class GroupCommit(Generic[Item]):
    """Items of one kind, written together by `write(items) -> results | None` (a service
    that runs in one transaction)."""

    def __init__(self, name: str, write: Callable[[list[Item]], list | None], max_batch: int = MAX_BATCH) -> None:
        self.name = name
        self.write = write
        self.max_batch = max_batch
        self._queue: deque[tuple[Item, asyncio.Future | None]] = deque()
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._writing: asyncio.Future | None = None

    async def submit(self, item: Item) -> Any:
        """Queue the item and wait until it is committed; returns its result or raises its error."""
        future = asyncio.get_running_loop().create_future()
        self._enqueue(item, future)
        return await future

    def submit_nowait(self, item: Item) -> None:
        """Queue an item nobody waits for (a last-seen time): written with the next batch."""
        self._enqueue(item, None)

    def _enqueue(self, item: Item, future: asyncio.Future | None) -> None:
        self._queue.append((item, future))
        self._ensure_running()
        self._wakeup.set()

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name=f"group-commit-{self.name}")

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._write_next_batch()

    async def _write_next_batch(self) -> None:
        batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
        items = [item for item, _ in batch]
        in_thread = sync_to_async(write_batch_in_thread, thread_sensitive=False, executor=_writer_executor())
        self._writing = asyncio.ensure_future(in_thread(self.write, items))
        try:
            outcomes = await asyncio.shield(self._writing)
        except BaseException as exc:  # cancelled at shutdown: nobody is told the items are stored
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
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

    async def drain(self) -> None:
        """Write everything queued now and wait for a batch being written (shutdown, tests)."""
        while self._queue:
            await self._write_next_batch()
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)


async def close_writer_connections() -> None:
    if _writer is not None:
        await sync_to_async(connections.close_all, thread_sensitive=False, executor=_writer)()


# --- the gateway's groups ---------------------------------------------------------------


def _run_each(calls: list[Callable[[], Any]]) -> list:
    return [call() for call in calls]


# Transactional messages (Boot, Start, Stop, ...) and connection changes: each call is a
# service that commits what must be durable before the reply. Batched too, so that every
# write of the process goes through one thread: on SQLite, writers on two threads would wait
# on each other's lock with the busy handler's sleeps (StartTransaction p50 1.9 s under load).
TRANSACTIONS = GroupCommit("transactions", _run_each)

STATUS_NOTIFICATIONS = GroupCommit("status-notifications", record_status_notifications)
METER_VALUES = GroupCommit("meter-values", record_meter_values_batch)
# Heartbeat and last-seen times: nobody waits for them (R9: an outage must not stop Heartbeats).
LIVENESS = GroupCommit("liveness", record_liveness)

GROUPS = (TRANSACTIONS, STATUS_NOTIFICATIONS, METER_VALUES, LIVENESS)


async def drain_group_commits() -> None:
    """Write what is queued (on shutdown) and release the writer's connection."""
    for group in GROUPS:
        await group.drain()
    await close_writer_connections()
