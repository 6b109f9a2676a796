"""The fixed set of request threads (csms/sync_threads.py)."""

import asyncio
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async

from csms.sync_threads import SyncThreadPool, on_bounded_threads


def thread_name() -> str:
    return threading.current_thread().name


@pytest.mark.asyncio
async def test_requests_run_their_sync_code_on_the_pools_threads_and_wait_when_all_are_busy():
    pool = SyncThreadPool(size=2, idle_seconds=60)
    running, most = 0, 0

    async def request() -> str:
        nonlocal running, most
        async with pool.borrowed() as executor, ThreadSensitiveContext(executor=executor):
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            # What Django does for a sync view: a thread-sensitive call.
            name = await sync_to_async(thread_name)()
            running -= 1
            return name

    names = await asyncio.gather(*(request() for _ in range(20)))
    assert most == 2
    assert set(names) <= {"http-sync-0_0", "http-sync-1_0"}
    pool.shutdown()


@pytest.mark.asyncio
async def test_the_wrapped_application_runs_on_a_borrowed_thread(settings):
    settings.HTTP_SYNC_THREADS = 1
    seen = []

    async def app(scope, receive, send) -> None:
        # Django's handler opens its own context, which defers to the one already set.
        async with ThreadSensitiveContext():
            seen.append(await sync_to_async(thread_name)())

    await on_bounded_threads(app)({"type": "http", "path": "/admin/"}, None, None)
    await on_bounded_threads(app)({"type": "http", "path": "/api/v1/sites"}, None, None)
    assert seen == ["http-sync-0_0", "http-sync-0_0"]


@pytest.mark.asyncio
async def test_idle_threads_close_their_connections_and_busy_ones_are_left_alone(monkeypatch):
    pool = SyncThreadPool(size=3, idle_seconds=0)
    closed_in = []
    monkeypatch.setattr("csms.sync_threads.connections.close_all", lambda: closed_in.append(thread_name()))
    assert await pool.close_idle_connections() == 0  # no thread has served a request yet

    async with pool.borrowed(), pool.borrowed():  # two threads serve a request
        pass
    release = asyncio.Event()

    async def long_request() -> None:
        async with pool.borrowed():
            await release.wait()

    busy = asyncio.create_task(long_request())
    await asyncio.sleep(0)
    assert await pool.close_idle_connections() == 1
    assert len(closed_in) == 1
    assert await pool.close_idle_connections() == 0  # closed once, until it serves again
    release.set()
    await busy
    # All three threads are back for the next requests.
    await asyncio.gather(*(long_request() for _ in range(3)))
    pool.shutdown()


@pytest.mark.asyncio
async def test_health_probes_do_not_wait_for_busy_request_threads(settings):
    settings.HTTP_SYNC_THREADS = 1
    release = asyncio.Event()

    async def app(scope, receive, send) -> None:
        await send(await sync_to_async(thread_name)())
        if scope["path"] != "/api/health":
            await release.wait()

    names: list[str] = []

    async def record(name) -> None:
        names.append(name)

    busy = asyncio.create_task(on_bounded_threads(app)({"type": "http", "path": "/api/v1/sites"}, None, record))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(on_bounded_threads(app)({"type": "http", "path": "/api/health"}, None, record), 1)
    release.set()
    await busy
    assert names == ["http-sync-0_0", "http-health-0_0"]
