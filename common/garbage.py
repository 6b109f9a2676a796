"""The cyclic garbage collector of a server holding thousands of connections.

CPython starts a young collection when the tracked objects allocated exceed those freed by a
threshold. At steady load nearly as many die as are born, so collections came seconds apart
and each walked every object allocated since that was still alive: 100,000-300,000 objects,
pauses of 0.1-0.25 s (measured with a gc callback at 10,000 chargers) that every message in
flight waited out. And a full collection ran whenever a quarter more objects had reached the
oldest generation: every few seconds, each walking millions of long-lived objects (0.5 s).

Here the server's event loop collects instead, on a clock: the youngest generation every
GC_YOUNG_COLLECTION_INTERVAL (few objects have lived that long: milliseconds), the middle one
every MIDDLE_EVERY of those, the whole heap every GC_FULL_COLLECTION_INTERVAL. What startup
allocated is frozen, never walked again. CPython's own young collections stay as a backstop
for allocation bursts between two ticks; its own full ones never run.
"""

import asyncio
import contextlib
import gc
import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# CPython's own collections: a young one after 10,000 net allocations, the middle one every 3
# of those, never a full one (the timer below runs it).
THRESHOLDS = (10_000, 3, 1_000_000_000)
MIDDLE_EVERY = 10  # young collections on the timer

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


def start_timed_collections() -> None:
    """On the server's event loop: the collections on a clock described above. Only where
    tune_garbage_collector ran (the server, not tests or management commands)."""
    global _task
    if _tuned and (_task is None or _task.done()):
        _task = asyncio.get_running_loop().create_task(_collect_on_a_clock())


async def stop_timed_collections() -> None:
    global _task
    if _task is not None:
        _task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _task
        _task = None


async def _collect_on_a_clock() -> None:
    ticks = 0
    full_due = time.monotonic() + settings.GC_FULL_COLLECTION_INTERVAL
    while True:
        await asyncio.sleep(settings.GC_YOUNG_COLLECTION_INTERVAL)
        if time.monotonic() >= full_due:
            collect_everything()
            full_due = time.monotonic() + settings.GC_FULL_COLLECTION_INTERVAL
            continue
        ticks += 1
        gc.collect(1 if ticks % MIDDLE_EVERY == 0 else 0)


def collect_everything() -> int:
    started = time.perf_counter()
    found = gc.collect()
    logger.info(
        "full garbage collection: %d unreachable objects, %.0f ms", found, 1000 * (time.perf_counter() - started)
    )
    return found
