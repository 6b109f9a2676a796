"""Batched reads: what many connections ask in the same moment (the chargers of the handshakes
of a reconnect storm, the idTags of Authorize) is looked up with a few queries, in a reader
thread of their own, instead of a few queries and one hop to the database thread each. The
lookups themselves, and their threads, are in `ocpp_gateway.seam`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

from django.utils import timezone

from charging.services import TokenCheck, authorize_tokens

MAX_KEYS = 1000


class Reader(Protocol):
    """Where a lookup's fetch runs (`seam.OwnThread`)."""

    def run(self, function: Callable[..., Any], /, *args: Any) -> Awaitable[Any]: ...


class BatchedLookup:
    """`await lookup.get(key)`: the value `fetch(keys) -> {key: value}` gives for it, or None.
    Keys asked for while a fetch runs are fetched together next, in `reader`."""

    def __init__(self, name: str, fetch: Callable[[set], dict], reader: Reader) -> None:
        self.name = name
        self.fetch = fetch
        self.reader = reader
        self._waiting: dict[Hashable, list[asyncio.Future]] = {}
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None

    async def get(self, key: Hashable) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name=f"lookup-{self.name}")
        assert self._wakeup is not None  # noqa: S101 (set with the task)
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            assert self._wakeup is not None  # noqa: S101 (set before the task is created)
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting:
                keys = list(self._waiting)[:MAX_KEYS]
                waiting = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await self.reader.run(self.fetch, set(keys))
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


def authorizations(checks: set[TokenCheck]) -> dict:
    """Authorize (1.6 sec. 4.1): read-only, so answered without waiting for a commit."""
    ordered = list(checks)
    return dict(zip(ordered, authorize_tokens(ordered, now=timezone.now()), strict=True))
