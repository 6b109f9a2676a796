"""Periodic tasks without a broker: in the embedded default (no CELERY_BROKER_URL) the ASGI
process runs CELERY_BEAT_SCHEDULE's interval entries itself, so sweeps such as "mark silent
chargers offline" and "prune the message log" also happen under `make run`. With a broker,
Celery beat does this and this module stays idle."""

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings

from common.db import with_fresh_connection
from csms.celery import app as celery_app

logger = logging.getLogger(__name__)

_tasks: list[asyncio.Task] = []
# One thread (one database connection) for every periodic task, not the loop's default
# executor, whose threads would each keep a connection of their own (S24).
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-beat")


async def _run_every(name: str, task_name: str, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await sync_to_async(with_fresh_connection, thread_sensitive=False, executor=_thread)(
                celery_app.tasks[task_name].apply
            )
        except Exception:
            logger.exception("periodic task %s failed", name)


def start_embedded_beat() -> int:
    """Start the interval entries as asyncio tasks; returns how many were started."""
    if not settings.CELERY_TASK_ALWAYS_EAGER or _tasks:
        return 0
    celery_app.loader.import_default_modules()  # registers the apps' tasks
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        schedule = entry["schedule"]
        if isinstance(schedule, int | float):
            _tasks.append(asyncio.create_task(_run_every(name, entry["task"], float(schedule)), name=f"beat:{name}"))
        else:
            logger.warning("embedded beat runs interval schedules only; %s needs Celery beat", name)
    return len(_tasks)


async def stop_embedded_beat() -> None:
    for task in _tasks:
        task.cancel()
    for task in _tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    _tasks.clear()
