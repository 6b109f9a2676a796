"""Batched reads: what many connections ask in the same moment (the chargers of the handshakes
of a reconnect storm, the idTags of Authorize) is looked up with a few queries, in a reader
thread of their own, instead of a few queries and one hop to the database thread each."""

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from charging.services import TagRequest, authorize_id_tags
from common.db import with_fresh_connection
from sites.selectors import chargers_access

MAX_KEYS = 1000


class BatchedLookup:
    """`await lookup.get(key)`: the value `fetch(keys) -> {key: value}` gives for it, or None.
    Keys asked for while a fetch runs are fetched together next."""

    def __init__(self, name: str, fetch: Callable[[set], dict]) -> None:
        self.name = name
        self.fetch = fetch
        self._waiting: dict[Hashable, list[asyncio.Future]] = {}
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def get(self, key: Hashable) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name=f"lookup-{self.name}")
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting:
                keys = list(self._waiting)[:MAX_KEYS]
                waiting = {key: self._waiting.pop(key) for key in keys}
                in_thread = sync_to_async(with_fresh_connection, thread_sensitive=False, executor=self._executor())
                try:
                    found = await in_thread(self.fetch, set(keys))
                except Exception as exc:
                    for futures in waiting.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in waiting.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(found.get(key))

    def _executor(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lookup-{self.name}")
        return self._thread


CHARGER_ACCESS = BatchedLookup("charger-access", chargers_access)


def _authorizations(requests: set[TagRequest]) -> dict:
    ordered = list(requests)
    return dict(zip(ordered, authorize_id_tags(ordered, now=timezone.now()), strict=True))


# Authorize (1.6 sec. 4.1): read-only, so answered without waiting for a commit.
AUTHORIZATIONS = BatchedLookup("authorize", _authorizations)
