"""The server's garbage collector: young generations often, the whole heap on a timer."""

import asyncio
import gc
import weakref

import pytest

from csms import garbage


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


def test_tuning_sets_the_thresholds_and_freezes_what_startup_allocated(tuned):
    assert gc.get_threshold() == garbage.THRESHOLDS
    assert gc.get_freeze_count() > 0


@pytest.mark.asyncio
async def test_old_cycles_are_freed_by_the_periodic_full_collection(tuned, settings):
    settings.GC_FULL_COLLECTION_INTERVAL = 0.05
    cycle = Cycle()
    gc.collect(1)  # it survives the young collections, into the oldest generation
    gone = weakref.ref(cycle)
    del cycle
    assert gone() is not None  # no collection of the oldest generation happens by itself
    garbage.start_full_collections()
    try:
        async with asyncio.timeout(5):
            while gone() is not None:  # noqa: ASYNC110 (the collector's timer frees it)
                await asyncio.sleep(0.01)
    finally:
        await garbage.stop_full_collections()


@pytest.mark.asyncio
async def test_no_full_collections_where_the_collector_was_not_tuned():
    garbage.start_full_collections()
    assert garbage._task is None
