"""The cyclic garbage collector of a server holding thousands of connections.

With CPython's defaults, a full collection runs whenever a quarter more objects have
survived into the oldest generation: at 10,000 connections that is every few seconds of
traffic, and each walks millions of long-lived objects (0.5 s pauses, which every message in
flight waits out: PERFORMANCE-NOTES.md). Here the young generations are collected often and
briefly, and the whole heap only on a timer, so a pause of that size comes once per interval
instead of every few seconds. Cycles that die old wait for that collection.
"""

import asyncio
import contextlib
import gc
import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# A young collection every 10,000 net allocations (each takes milliseconds); the middle one
# every 3 of those; never a full one by itself (see collect_everything_periodically).
THRESHOLDS = (10_000, 3, 1_000_000_000)

_tuned = False
_task: asyncio.Task | None = None


def tune_garbage_collector() -> None:
    """Freeze what startup allocated (modules, settings, URL patterns: never garbage) so that
    no collection walks it again, and set the thresholds above. For the server process."""
    global _tuned
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    _tuned = True


def start_full_collections() -> None:
    """On the server's event loop: the full collection the thresholds leave out, every
    GC_FULL_COLLECTION_INTERVAL seconds. Only where tune_garbage_collector ran."""
    global _task
    if _tuned and (_task is None or _task.done()):
        _task = asyncio.get_running_loop().create_task(_collect_everything_periodically())


async def stop_full_collections() -> None:
    global _task
    if _task is not None:
        _task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _task
        _task = None


async def _collect_everything_periodically() -> None:
    while True:
        await asyncio.sleep(settings.GC_FULL_COLLECTION_INTERVAL)
        collect_everything()


def collect_everything() -> int:
    started = time.perf_counter()
    found = gc.collect()
    logger.info(
        "full garbage collection: %d unreachable objects, %.0f ms", found, 1000 * (time.perf_counter() - started)
    )
    return found
