"""A fixed set of threads for Django's synchronous code under ASGI, so that the number of
database connections a process opens is bounded by configuration (ACCEPTANCE S24).

Django's ASGI handler runs each request's synchronous parts (sync views, middleware, signal
receivers) on a thread of its own, created for that request and dropped after it. Django keeps
one connection per thread and closes it at the end of a request only when it is older than
CONN_MAX_AGE, so every request left a connection behind in a dead thread, closed only when a
full garbage collection freed it (every 10 minutes on the server): a few hundred failed logins
held 293 PostgreSQL connections and every other request then failed.

Here each HTTP request borrows one of HTTP_SYNC_THREADS single-thread executors for its whole
duration (asgiref's `ThreadSensitiveContext(executor=...)`, which Django's own per-request
context then defers to). The threads live as long as the process, so their connections are
reused across requests as CONN_MAX_AGE intends; a request waits for a free thread when all
are busy. A thread idle for HTTP_SYNC_IDLE_SECONDS closes its connections.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

Scope = dict
AsgiApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


@dataclass(eq=False)
class _Slot:
    executor: ThreadPoolExecutor
    released_at: float = field(default_factory=time.monotonic)
    # Whether the thread may hold a database connection (it served a request since it last
    # closed them).
    used: bool = False


class SyncThreadPool:
    """Lends each request one thread for its sync code. The most recently released thread is
    lent first, so under light load a few warm threads (and their connections) do the work and
    the others stay idle long enough to close theirs."""

    def __init__(self, size: int, idle_seconds: float, name: str = "http-sync") -> None:
        if size < 1:
            raise ValueError("HTTP_SYNC_THREADS must be at least 1")
        self.size = size
        self.idle_seconds = idle_seconds
        self._free = [_Slot(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-{n}")) for n in range(size)]
        # Counts the free slots. Taking one may wait; giving one back never does, so a request
        # cancelled on its way out cannot lose its thread.
        self._available = asyncio.Semaphore(size)

    @contextlib.asynccontextmanager
    async def borrowed(self) -> AsyncIterator[ThreadPoolExecutor]:
        await self._available.acquire()
        slot = self._free.pop()
        try:
            yield slot.executor
        finally:
            slot.used, slot.released_at = True, time.monotonic()
            self._give_back(slot, warm=True)

    def _give_back(self, slot: _Slot, *, warm: bool) -> None:
        # Warm threads on top of the stack, threads that closed their connections at the bottom.
        if warm:
            self._free.append(slot)
        else:
            self._free.insert(0, slot)
        self._available.release()

    async def _take_idle(self, deadline: float) -> list[_Slot]:
        """Take the free threads that served a request but none since `deadline`, only while no
        request waits (a waiting request gets a thread first)."""
        idle: list[_Slot] = []
        while not self._available.locked():
            slot = next((slot for slot in self._free if slot.used and slot.released_at <= deadline), None)
            if slot is None:
                break
            await self._available.acquire()  # not locked: returns at once, nothing runs in between
            self._free.remove(slot)
            idle.append(slot)
        return idle

    async def close_idle_connections(self) -> int:
        """Close the connections of threads unused for `idle_seconds`; returns how many threads
        closed theirs. Each is out of the pool while it does, so no request meets it."""
        idle = await self._take_idle(time.monotonic() - self.idle_seconds)
        try:
            for slot in idle:
                try:
                    await sync_to_async(connections.close_all, thread_sensitive=False, executor=slot.executor)()
                except Exception:  # a broken connection is dropped all the same
                    logger.warning("closing an idle request thread's database connection failed", exc_info=True)
                slot.used = False
        finally:
            for slot in idle:
                self._give_back(slot, warm=False)
        return len(idle)

    def shutdown(self) -> None:
        for slot in self._free:
            slot.executor.shutdown(wait=False)


# Load balancers probe /api/health every few seconds: on a thread of its own, so that busy request
# threads never make a healthy process look down.
HEALTH_PATH = "/api/health"

_pools: dict[str, SyncThreadPool] = {}
_pools_loop: asyncio.AbstractEventLoop | None = None
_reaper: asyncio.Task | None = None


def sync_thread_pools() -> dict[str, SyncThreadPool]:
    """The process's pools, "requests" and "health", made on first use (their semaphores belong
    to the running loop: a test that runs the application on another loop gets pools of its own)."""
    global _pools_loop
    loop = asyncio.get_running_loop()
    if _pools_loop is not loop:
        for pool in _pools.values():
            pool.shutdown()
        _pools["requests"] = SyncThreadPool(settings.HTTP_SYNC_THREADS, settings.HTTP_SYNC_IDLE_SECONDS)
        _pools["health"] = SyncThreadPool(1, settings.HTTP_SYNC_IDLE_SECONDS, name="http-health")
        _pools_loop = loop
    return _pools


def on_bounded_threads(app: AsgiApp) -> AsgiApp:
    """Wrap Django's ASGI application: each HTTP request's sync code runs on a borrowed thread."""

    async def bounded(scope: Scope, receive: Callable, send: Callable) -> None:
        pools = sync_thread_pools()
        pool = pools["health"] if scope.get("path") == HEALTH_PATH else pools["requests"]
        async with pool.borrowed() as executor, ThreadSensitiveContext(executor=executor):
            await app(scope, receive, send)

    return bounded


def start_idle_connection_reaper() -> None:
    """On the server's event loop: every few seconds, idle request threads close their connections."""
    global _reaper
    if _reaper is None or _reaper.done():
        _reaper = asyncio.get_running_loop().create_task(_reap_idle_connections(), name="http-sync-reaper")


async def stop_idle_connection_reaper() -> None:
    global _reaper
    if _reaper is not None:
        _reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _reaper
        _reaper = None


async def _reap_idle_connections() -> None:
    while True:
        await asyncio.sleep(max(settings.HTTP_SYNC_IDLE_SECONDS / 2, 0.5))
        for pool in sync_thread_pools().values():
            await pool.close_idle_connections()
