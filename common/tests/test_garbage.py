"""The server's garbage collector: the young generations on a clock, the whole heap rarely."""

import asyncio
import gc
import weakref

import pytest

from common import garbage


class Cycle:
    """Garbage only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def tuned():
    thresholds = gc.get_threshold()
    garbage.tune_garbage_collector()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    garbage._tuned = False


async def _freed_by_the_clock(gone: weakref.ref) -> None:
    garbage.start_timed_collections()
    try:
        async with asyncio.timeout(5):
            while gone() is not None:  # noqa: ASYNC110 (the collector's clock frees it)
                await asyncio.sleep(0.01)
    finally:
        await garbage.stop_timed_collections()


def test_tuning_sets_the_thresholds_and_freezes_what_startup_allocated(tuned):
    assert gc.get_threshold() == garbage.THRESHOLDS
    assert gc.get_freeze_count() > 0


@pytest.mark.asyncio
async def test_young_cycles_are_freed_on_the_clock_without_waiting_for_allocations(tuned, settings):
    settings.GC_YOUNG_COLLECTION_INTERVAL = 0.01
    gc.set_threshold(1_000_000_000)  # CPython's own collections would not come in this test
    cycle = Cycle()
    gone = weakref.ref(cycle)
    del cycle
    await _freed_by_the_clock(gone)


@pytest.mark.asyncio
async def test_old_cycles_are_freed_by_the_full_collection_on_the_clock(tuned, settings):
    settings.GC_YOUNG_COLLECTION_INTERVAL = 0.01
    settings.GC_FULL_COLLECTION_INTERVAL = 0.05
    cycle = Cycle()
    gc.collect(1)  # it survives the young collections, into the oldest generation
    gone = weakref.ref(cycle)
    del cycle
    gc.collect(1)
    assert gone() is not None  # young collections leave the oldest generation alone
    await _freed_by_the_clock(gone)


@pytest.mark.asyncio
async def test_no_clock_where_the_collector_was_not_tuned():
    garbage.start_timed_collections()
    assert garbage._task is None
