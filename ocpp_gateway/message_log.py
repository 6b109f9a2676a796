"""The OCPP message log: every WebSocket frame in and out, written in batches.

`log_frame` only appends a tuple to an in-process buffer (no database access, never blocks on
I/O, never raises into the caller). A background asyncio task started with
`start_message_log_writer()` flushes the buffer every OCPP_MESSAGE_LOG_FLUSH_SECONDS with one
multi-row insert (`common.db.insert_values`: COPY on PostgreSQL) in one transaction, in a dedicated
writer thread that owns one database connection.

Guarantees and limits:
- The buffer holds at most OCPP_MESSAGE_LOG_MAX_BUFFER rows; beyond that the oldest rows are
  dropped and counted (`dropped_count()`), and the drops are reported with logging.warning.
- A flush that fails because the database is unreachable (OperationalError/InterfaceError)
  puts its rows back at the head of the buffer (still bounded) for the next tick.
- Every frame is stored, whatever a charger put in it (ACCEPTANCE R27): texts are escaped where
  a database cannot hold them (a NUL as \\u0000, a lone UTF-16 surrogate as \\ud800: neither
  PostgreSQL nor SQLite's driver take those), and a payload that jsonb would refuse (the same
  characters, escaped in the JSON) is kept as JSON text in `raw`, with a note. A batch the
  database still rejects for its data is retried row by row, each row as text if need be.
- Faults are logged as one line each, rate-limited (`ocpp_gateway.fault_log`).
- An `atexit` hook flushes what is left on a normal process exit (best effort).

Callers: the consumer calls `log_frame` for every frame and `start_message_log_writer()`
(idempotent) once a loop is running; shutdown paths await `stop_message_log_writer()`.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Max, Min

from common.db import insert_values
from ocpp_gateway import fault_log
from ocpp_gateway.models import MessageLog
from ocpp_gateway.rpc import canonical_json
from ocpp_gateway.seam import OwnThread

logger = logging.getLogger(__name__)

DEFAULT_FLUSH_SECONDS = 0.5
DEFAULT_MAX_BUFFER = 50_000
DEFAULT_RETENTION_DAYS = 30
RAW_MAX_CHARS = 4096
BULK_BATCH_SIZE = 1000

# Database errors after which the same rows may succeed later (server down, connection lost,
# SQLite busy). Anything else is a problem with the rows themselves.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

# The values of ROW_FIELDS (below), in that order: a tuple is cheaper to build on the hot path
# than a model instance, and the writer inserts the tuples as they are. Only strings, numbers
# and a datetime (the payload as JSON text, the connection id as text): the garbage collector
# stops tracking such a tuple at its first collection, instead of walking a parsed payload in
# every young collection until the flush (PERFORMANCE-NOTES.md).
Row = tuple
UNSTORABLE_NOTE = "[payload not storable as JSON, kept as text in raw]"

_lock = threading.Lock()
_buffer: deque[Row] = deque()
_dropped_total = 0
_dropped_reported = 0

_writer_task: asyncio.Task | None = None
# The writer's thread, which keeps its connection between flushes.
_writer_thread = OwnThread("ocpp-message-log")


def _enabled() -> bool:
    return getattr(settings, "OCPP_MESSAGE_LOG_ENABLED", True)


def _max_buffer() -> int:
    return max(1, int(getattr(settings, "OCPP_MESSAGE_LOG_MAX_BUFFER", DEFAULT_MAX_BUFFER)))


def _flush_seconds() -> float:
    return float(getattr(settings, "OCPP_MESSAGE_LOG_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS))


# --- the hot path ----------------------------------------------------------------------


def log_frame(
    *,
    charge_point_id: str,
    direction: str,
    message_type: int | None,
    message_id: str = "",
    action: str = "",
    payload=None,
    raw: str = "",
    error_code: str = "",
    error_description: str = "",
    connection_id: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> None:
    """Buffer one frame for the log. Non-blocking; safe from the event loop and from threads.

    `payload` (dict, list or None) is encoded as JSON text at once, so the caller may change it
    afterwards. `raw` is meant for frames that could not be parsed and is cut to 4096 chars.
    """
    global _dropped_total
    try:
        if not _enabled():
            return
        try:
            payload_json = None if payload is None else canonical_json(payload)
        except (TypeError, ValueError):  # not JSON (a caller's bug): kept readable, with a note
            payload_json, raw = None, repr(payload)
            error_description = f"{error_description} {UNSTORABLE_NOTE}".strip()
        row = (
            charge_point_id,
            None if connection_id is None else str(connection_id),
            direction,
            message_type,
            message_id,
            action,
            payload_json,
            raw[:RAW_MAX_CHARS] if raw else "",
            error_code,
            error_description,
            timestamp or datetime.now(UTC),
        )
        limit = _max_buffer()
        with _lock:
            while len(_buffer) >= limit:
                _buffer.popleft()
                _dropped_total += 1
            _buffer.append(row)
    except Exception:  # the log must never break the protocol path
        fault_log.bug(logger, "message log", charge_point_id, "could not buffer a frame")


def buffered_count() -> int:
    """Rows waiting to be written."""
    return len(_buffer)


def dropped_count() -> int:
    """Rows dropped since the process started because the buffer was full."""
    return _dropped_total


def discard_buffered_frames() -> int:
    """Throw away everything buffered (tests); returns how many rows were discarded."""
    global _buffer
    with _lock:
        rows, _buffer = _buffer, deque()
    return len(rows)


# --- flushing --------------------------------------------------------------------------


def _take_all() -> deque[Row]:
    global _buffer
    with _lock:
        rows, _buffer = _buffer, deque()
    return rows


def _put_back(rows: list[Row]) -> None:
    """Return unwritten rows to the head of the buffer, keeping the newest within the bound."""
    global _buffer, _dropped_total
    limit = _max_buffer()
    with _lock:
        merged = deque(rows)
        merged.extend(_buffer)
        excess = len(merged) - limit
        for _ in range(max(0, excess)):
            merged.popleft()
        _dropped_total += max(0, excess)
        _buffer = merged


def _report_drops() -> None:
    global _dropped_reported
    total = _dropped_total
    if total != _dropped_reported:
        fault_log.fault(
            logger,
            "message log",
            None,
            "OCPP message log buffer full (OCPP_MESSAGE_LOG_MAX_BUFFER=%d): dropped %d oldest frame(s), %d in total",
            _max_buffer(),
            total - _dropped_reported,
            total,
        )
        _dropped_reported = total


def _text(value, max_length: int) -> str:
    if not value:
        return ""
    value = str(value)
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        value = value.replace("\x00", "\\u0000")
    if not value.isascii():  # a flag of the string: O(1), so ASCII texts cost nothing more
        value = _encodable(value)
    return value[:max_length]


def _encodable(value: str) -> str:
    """A lone UTF-16 surrogate (JSON can carry one escaped) has no UTF-8 form: neither
    PostgreSQL nor SQLite's driver takes it. Kept escaped, as JSON writes it: \\ud800."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("ascii")
    return value


def _jsonb_refuses(payload: str) -> bool:
    """JSON escapes that jsonb refuses: NUL (no text can hold it) and UTF-16 surrogates, of
    which the stdlib writes lone ones escaped (rpc.canonical_json); orjson writes the others
    as UTF-8. Nearly every payload has no escape at all: one search tells (per row, off the
    hot path, in the writer thread)."""
    return "\\u" in payload and ("\\u0000" in payload or "\\ud" in payload)


# The model's fields in the order of a Row.
ROW_FIELDS = [
    "charge_point_id", "connection_id", "direction", "message_type", "message_id", "action", "payload", "raw",
    "error_code", "error_description", "timestamp",
]  # fmt: skip


def _storable(row: Row) -> Row:
    """The row with its texts fitted to their columns, and a payload that the database would
    refuse kept as JSON text instead (same on every database, so the log reads the same)."""
    (cp_id, connection_id, direction, message_type, message_id, action, payload, raw, code, description, ts) = row
    if payload is not None and _jsonb_refuses(payload):
        payload, raw, description = None, payload, f"{description} {UNSTORABLE_NOTE}".strip()
    return (
        _text(cp_id, 48),
        connection_id,
        _text(direction, 3),
        message_type,
        _text(message_id, 64),
        _text(action, 64),
        payload,
        _text(raw, RAW_MAX_CHARS),
        _text(code, 64),
        _text(description, 255),
        ts,
    )


def _instance(row: Row):
    values = dict(zip(ROW_FIELDS, _storable(row), strict=True))
    if values["payload"] is not None:
        values["payload"] = json.loads(values["payload"])
    return MessageLog(**values)


def _fallback_instance(row: Row):
    """The row with its payload kept as JSON text in `raw`, for payloads the database refused."""
    payload, description = row[6], row[9]
    if payload is None:
        return _instance(row)
    return _instance((*row[:6], None, payload, row[8], f"{description} {UNSTORABLE_NOTE}".strip(), row[10]))


def _insert(rows: list[Row]) -> None:
    # In a transaction (a savepoint when called inside someone else's, so that a rejected
    # insert does not abort it on PostgreSQL): all of the batch or none of it.
    with transaction.atomic():
        for start in range(0, len(rows), BULK_BATCH_SIZE):
            insert_values(MessageLog, ROW_FIELDS, rows[start : start + BULK_BATCH_SIZE], json_text={"payload"})


def _write(rows: list[Row]) -> int:
    """Insert rows; raises a TRANSIENT_ERRORS exception if the database is unreachable."""
    try:
        _insert([_storable(row) for row in rows])
        return len(rows)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # a row's data: found and kept as text below
        fault_log.failure(logger, "message log", None, "batch of %d rejected, retrying row by row", len(rows),
                          error=exc)  # fmt: skip

    written = 0
    for index, row in enumerate(rows):
        for build in (_instance, _fallback_instance):
            try:
                with transaction.atomic():
                    MessageLog.objects.bulk_create([build(row)])
                written += 1
                break
            except TRANSIENT_ERRORS:
                # Rows before this one are done; the caller requeues from here.
                raise _PartialWrite(written=written, done=index) from None
            except Exception as exc:  # the first refusal is expected: kept as text next
                if build is _fallback_instance:  # every text is storable by now: a bug
                    fault_log.bug(logger, "message log", row[0], "row refused even as text", error=exc)
        else:
            fault_log.fault(logger, "message log", row[0], "dropped an unstorable frame", level=logging.ERROR)
    return written


def _unavailable(kept: int, error: BaseException | None) -> None:
    fault_log.fault(logger, "message log", None, "database unavailable, %d row(s) kept for retry", kept,
                    error=error, level=logging.ERROR)  # fmt: skip


class _PartialWrite(Exception):
    """The database went away during a row-by-row retry: `done` rows were handled."""

    def __init__(self, *, written: int, done: int) -> None:
        super().__init__(written, done)
        self.written = written
        self.done = done


def flush_message_log_sync() -> int:
    """Write everything buffered now (one bulk insert); returns the number of rows written.

    On a database outage the rows go back to the head of the buffer and 0 is returned.
    Must not be called from a thread running an event loop (use `flush_message_log`).
    """
    _report_drops()
    rows = list(_take_all())
    if not rows:
        return 0
    try:
        return _write(rows)
    except _PartialWrite as partial:
        _put_back(rows[partial.done :])
        _unavailable(len(rows) - partial.done, partial.__cause__ or partial.__context__)
        return partial.written
    except TRANSIENT_ERRORS as exc:
        _put_back(rows)
        _unavailable(len(rows), exc)
        return 0
    except BaseException:
        # Anything unexpected: keep the rows rather than lose them, then let it propagate.
        _put_back(rows)
        raise
    finally:
        _report_drops()


async def flush_message_log() -> int:
    """Write everything buffered now from async code (in the writer thread); returns rows written."""
    if not _buffer and _dropped_total == _dropped_reported:
        return 0
    return await _writer_thread.run(flush_message_log_sync)


# --- the background writer --------------------------------------------------------------


async def _writer_loop() -> None:
    while True:
        await asyncio.sleep(_flush_seconds())
        flush = asyncio.ensure_future(flush_message_log())
        try:
            await asyncio.shield(flush)
        except asyncio.CancelledError:
            # Let a flush that is already running in the thread finish before stopping.
            await asyncio.gather(flush, return_exceptions=True)
            raise
        except Exception:
            fault_log.bug(logger, "message log", None, "flush failed")


def start_message_log_writer() -> None:
    """Start the periodic flusher on the running event loop. Idempotent; needs a running loop."""
    global _writer_task
    loop = asyncio.get_running_loop()
    task = _writer_task
    if task is not None and not task.done() and task.get_loop() is loop:
        return
    _writer_task = loop.create_task(_writer_loop(), name="ocpp-message-log-writer")


async def stop_message_log_writer() -> None:
    """Stop the periodic flusher, write what is left and release the writer's connection."""
    global _writer_task
    task, _writer_task = _writer_task, None
    if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await flush_message_log()
    await _writer_thread.close_connections()


def _flush_at_exit() -> None:
    if not _buffer:
        return
    try:
        flush_message_log_sync()
    except Exception:
        logger.exception("OCPP message log: flush at exit failed")


atexit.register(_flush_at_exit)


# --- retention --------------------------------------------------------------------------


def prune_message_log(*, older_than_days: int | None = None, batch_size: int = 10_000) -> int:
    """Delete frames older than the retention period, in id-range batches; returns rows deleted.

    `older_than_days` defaults to OCPP_MESSAGE_LOG_RETENTION_DAYS; 0 or None keeps everything.
    Each batch is its own short statement, so the table is never locked for long.
    """
    days = older_than_days
    if days is None:
        days = getattr(settings, "OCPP_MESSAGE_LOG_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    if not days or days <= 0:
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=days)
    old = MessageLog.objects.filter(timestamp__lt=cutoff)
    bounds = old.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return 0
    deleted = 0
    low, high = bounds["low"], bounds["high"]
    while low <= high:
        count, _ = old.filter(id__gte=low, id__lt=low + batch_size).delete()
        deleted += count
        low += batch_size
    logger.info("OCPP message log: pruned %d frame(s) older than %d day(s)", deleted, days)
    return deleted
