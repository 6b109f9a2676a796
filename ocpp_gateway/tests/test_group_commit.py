"""Group commit: rounds of different chargers are written side by side; a charger's next items
wait for the round that is writing that charger (instead of the whole next round waiting on
its row locks). What is written behind the reply is written again after an outage."""

import asyncio
import threading

import pytest
from django.db import DataError, OperationalError

from ocpp_gateway import group_commit
from ocpp_gateway.group_commit import Committer, GroupCommit
from ocpp_gateway.tests.conftest import until

pytestmark = pytest.mark.asyncio


class Recorder:
    """A group's write function: records each batch; a batch holding `hold` blocks until released."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.batches: list[list[str]] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def write(self, items: list[tuple[int, str]]) -> list[str]:
        names = [name for _, name in items]
        self.batches.append(names)
        if self.hold in names:
            self.holding.set()
            self.release.wait(timeout=10)
        return names


def write_reporting_failures(batches: list, charger_ids: set[int]) -> list[list]:
    """The round as the writer thread runs it, minus the transaction (this is about scheduling;
    on SQLite a second writer would wait for the first one's transaction): a batch that fails
    reports its exception for every item."""
    outcomes = []
    for write, items in batches:
        try:
            results = write(items)
            outcomes.append(list(results) if results is not None else [None] * len(items))
        except Exception as exc:
            outcomes.append([exc] * len(items))
    return outcomes


@pytest.fixture
def rounds_without_database(monkeypatch):
    monkeypatch.setattr(group_commit, "_writer", None)
    monkeypatch.setattr(group_commit, "write_round_in_thread", write_reporting_failures)
    yield
    if group_commit._writer is not None:
        group_commit._writer.shutdown(wait=True)


@pytest.fixture
def two_writers(rounds_without_database, monkeypatch):
    monkeypatch.setattr(group_commit, "writers", lambda: 2)
    monkeypatch.setattr(group_commit, "OVERLAP_AFTER", 1)


async def test_a_busy_chargers_items_wait_while_other_chargers_are_written_meanwhile(two_writers):
    recorder = Recorder(hold="a1")
    committer = Committer()
    group = committer.register(GroupCommit("test", recorder.write, lambda item: item[0]))

    first = asyncio.ensure_future(group.submit((1, "a1")))
    await asyncio.to_thread(recorder.holding.wait, 5)  # charger 1's round is being written
    waiting = asyncio.ensure_future(group.submit((1, "a2")))
    other = asyncio.ensure_future(group.submit((2, "b1")))

    assert await asyncio.wait_for(other, 5) == "b1"  # written beside charger 1's round
    assert not waiting.done()  # charger 1's next item waits for its round
    recorder.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, waiting), 5) == ["a1", "a2"]
    assert recorder.batches == [["a1"], ["b1"], ["a2"]]


async def test_rounds_started_in_the_same_moment_do_not_share_a_charger(two_writers):
    recorder = Recorder(hold="a1")
    group = Committer().register(GroupCommit("test", recorder.write, lambda item: item[0], max_batch=1))
    # Queued together: two writers are free, but the second round must not take a2.
    first = asyncio.ensure_future(group.submit((1, "a1")))
    second = asyncio.ensure_future(group.submit((1, "a2")))
    await asyncio.to_thread(recorder.holding.wait, 5)
    await asyncio.sleep(0.1)
    assert recorder.batches == [["a1"]]
    recorder.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, second), 5) == ["a1", "a2"]
    assert recorder.batches == [["a1"], ["a2"]]


async def test_the_next_round_waits_and_grows_until_enough_is_queued_to_overlap(two_writers, monkeypatch):
    monkeypatch.setattr(group_commit, "OVERLAP_AFTER", 3)
    recorder = Recorder(hold="a1")
    group = Committer().register(GroupCommit("test", recorder.write, lambda item: item[0]))
    first = asyncio.ensure_future(group.submit((1, "a1")))
    await asyncio.to_thread(recorder.holding.wait, 5)
    waiting = [asyncio.ensure_future(group.submit((2, "b1"))), asyncio.ensure_future(group.submit((3, "c1")))]
    await asyncio.sleep(0.1)
    assert recorder.batches == [["a1"]]  # two queued: they wait for the round being written
    overlapping = asyncio.ensure_future(group.submit((4, "d1")))
    assert await asyncio.wait_for(asyncio.gather(*waiting, overlapping), 5) == ["b1", "c1", "d1"]
    assert recorder.batches == [["a1"], ["b1", "c1", "d1"]]  # the third started one beside it
    recorder.release.set()
    assert await asyncio.wait_for(first, 5) == "a1"


# --- Writes behind the reply: written again after an outage ----------------------------------


class Database:
    """A group's write function against a database that can be down, or refuse a value."""

    def __init__(self) -> None:
        self.down = False
        self.stored: list[str] = []
        self.refused_while_down: list[str] = []

    def write(self, items: list[tuple[int, str]]) -> None:
        if self.down:
            self.refused_while_down += [name for _, name in items]
            raise OperationalError("the database is down")
        if any(name == "refused" for _, name in items):
            raise DataError("value too long")
        self.stored += [name for _, name in items]


@pytest.fixture
def flaky_database(rounds_without_database, monkeypatch) -> Database:
    monkeypatch.setattr(group_commit, "writers", lambda: 1)
    monkeypatch.setattr(group_commit, "RETRY_DELAY", 0.05)
    return Database()


async def test_a_write_behind_the_reply_is_written_again_once_the_database_is_back(flaky_database):
    committer = Committer()
    group = committer.register(GroupCommit("test", flaky_database.write, lambda item: item[0], retried=True))
    flaky_database.down = True
    group.submit_nowait((1, "first"))
    # Tried again every RETRY_DELAY while the database is down (between two attempts it waits
    # in `retrying`; asserting on that would race the timer).
    await until(lambda: len(flaky_database.refused_while_down) >= 3)
    assert set(flaky_database.refused_while_down) == {"first"}
    assert flaky_database.stored == []

    flaky_database.down = False
    group.submit_nowait((1, "second"))
    # Each stored once; in either order (the retry waits for its timer; statuses are ordered
    # by their timestamps, R23).
    await until(lambda: sorted(flaky_database.stored) == ["first", "second"])
    await asyncio.sleep(0.1)
    assert sorted(flaky_database.stored) == ["first", "second"]
    assert not group.retrying


async def test_drain_writes_what_waits_for_another_attempt_at_once(flaky_database, monkeypatch):
    monkeypatch.setattr(group_commit, "RETRY_DELAY", 60)
    committer = Committer()
    group = committer.register(GroupCommit("test", flaky_database.write, lambda item: item[0], retried=True))
    flaky_database.down = True
    group.submit_nowait((1, "status"))
    await until(lambda: group.retrying)
    flaky_database.down = False
    await committer.drain()  # as on shutdown: no waiting for the timer
    assert flaky_database.stored == ["status"]
    assert not group.retrying


async def test_what_the_database_refuses_or_a_group_not_retried_is_dropped(flaky_database, caplog):
    committer = Committer()
    statuses = committer.register(GroupCommit("statuses", flaky_database.write, lambda item: item[0], retried=True))
    seen = committer.register(GroupCommit("last-seen", flaky_database.write, lambda item: item[0]))
    statuses.submit_nowait((1, "refused"))  # it would be refused again (R8)
    await committer.drain()
    flaky_database.down = True
    seen.submit_nowait((1, "seen"))  # the next sign of life replaces it
    await committer.drain()
    assert not statuses.retrying
    assert not seen.retrying
    assert flaky_database.stored == []
    assert [r.levelname for r in caplog.records if "lost" in r.getMessage()] == ["ERROR", "WARNING"]


async def test_at_most_max_retrying_items_wait(flaky_database, monkeypatch):
    monkeypatch.setattr(group_commit, "MAX_RETRYING", 2)
    monkeypatch.setattr(group_commit, "RETRY_DELAY", 60)  # they stay waiting while we look
    committer = Committer()
    group = committer.register(GroupCommit("test", flaky_database.write, lambda item: item[0], retried=True))
    flaky_database.down = True
    for number in range(3):
        group.submit_nowait((number, f"status-{number}"))
    await until(lambda: len(group.retrying) == 2)
    await asyncio.sleep(0.1)
    assert len(group.retrying) == 2  # the third was dropped (and logged)
