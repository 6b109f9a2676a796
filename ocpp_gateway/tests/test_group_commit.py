"""Group commit: rounds of different chargers are written side by side; a charger's next items
wait for the round that is writing that charger (instead of the whole next round waiting on
its row locks)."""

import asyncio
import threading

import pytest

from ocpp_gateway import group_commit
from ocpp_gateway.group_commit import Committer, GroupCommit

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


def write_without_database(batches: list, charger_ids: set[int]) -> list[list]:
    """The round as the writer thread runs it, minus the transaction (this is about scheduling;
    on SQLite a second writer would wait for the first one's transaction)."""
    return [write(items) for write, items in batches]


@pytest.fixture
def two_writers(monkeypatch):
    monkeypatch.setattr(group_commit, "writers", lambda: 2)
    monkeypatch.setattr(group_commit, "_writer", None)
    monkeypatch.setattr(group_commit, "write_round_in_thread", write_without_database)
    yield
    if group_commit._writer is not None:
        group_commit._writer.shutdown(wait=True)


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
