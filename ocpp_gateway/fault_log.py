"""Log lines an operator can live with (issue 15): one line per expected fault, rate-limited.

Expected faults are what a hostile or broken charger sends and what a database outage does:
they are logged as ONE line, without a traceback, with the charger and the exception's type
and first line. Real bugs (any other exception) keep their traceback. Both are rate-limited per
(kind, charger): at most one line per OCPP_FAULT_LOG_INTERVAL seconds (default 60), and the
next line says how many were suppressed meanwhile. A database outage is one event for the
whole process, not one per charger: it is limited per kind only (the line still names the
charger). A charger sending bad frames all day or a database down for a minute thus costs a
few lines, not one per frame (or per charger).

Thread-safe (the message log and group-commit writers run in threads). Only the fault path
takes the lock: a frame answered normally never gets here.
"""

import logging
import sys
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

DEFAULT_INTERVAL = 60.0
# Distinct (kind, charger) keys remembered; charge point ids come from URLs, so a flood of
# made-up ones must not grow the table without bound. Beyond this, expired keys are dropped
# first, then all (losing only suppressed counts).
MAX_KEYS = 10_000
CHARGER_CHARS = 48  # the column's width; ids come from URLs and may be anything
ERROR_CHARS = 200
MESSAGE_CHARS = 500

# Faults that are expected in operation: the database unreachable or refusing data (R8, R9).
EXPECTED = (DatabaseError,)
# Of those, the ones that concern the database, not what a charger sent (R9 rather than R8).
OUTAGES = (OperationalError, InterfaceError)
ANY_CHARGER = "*"

_lock = threading.Lock()
# (kind, charger) -> [when the current window started, lines suppressed in it]
_windows: dict[tuple[str, str], list] = {}
_clock = time.monotonic


def _interval() -> float:
    return float(getattr(settings, "OCPP_FAULT_LOG_INTERVAL", DEFAULT_INTERVAL))


def _admit(key: tuple[str, str], now: float, interval: float) -> int | None:
    """None when the line is suppressed; otherwise how many were suppressed before it."""
    with _lock:
        window = _windows.get(key)
        if window is not None and now - window[0] < interval:
            window[1] += 1
            return None
        if window is None and len(_windows) >= MAX_KEYS:
            _forget_expired(now, interval)
        _windows[key] = [now, 0]
        return window[1] if window is not None else 0


def _forget_expired(now: float, interval: float) -> None:
    for key in [key for key, (started, _) in _windows.items() if now - started >= interval]:
        del _windows[key]
    if len(_windows) >= MAX_KEYS:
        _windows.clear()


def reset() -> None:
    """Forget every window (tests)."""
    with _lock:
        _windows.clear()


def _printable(text: str, limit: int) -> str:
    """One line of printable text: what a charger sent may hold newlines, NULs, surrogates."""
    text = text[:limit]
    return text if text.isprintable() else ascii(text)[1:-1]


def describe(error: BaseException) -> str:
    """`Type: first line of the message`, bounded (psycopg's messages span several lines)."""
    message = str(error).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {_printable(message, ERROR_CHARS)}" if message else type(error).__name__


def _emit(logger: logging.Logger, level: int, kind: str, charger: str | None, message: str, args: tuple,
          error: BaseException | None, with_traceback: bool) -> bool:  # fmt: skip
    if not logger.isEnabledFor(level):
        return False
    who = "-" if charger is None else _printable(charger, CHARGER_CHARS)
    suppressed = _admit((kind, ANY_CHARGER if isinstance(error, OUTAGES) else who), _clock(), _interval())
    if suppressed is None:
        return False
    text = f"[{kind}] {who}: {_printable(message % args if args else message, MESSAGE_CHARS)}"
    if error is not None and not with_traceback:
        text = f"{text}: {describe(error)}"
    if suppressed:
        text = f"{text} ({suppressed} more suppressed)"
    logger.log(level, "%s", text, exc_info=error if with_traceback else None)
    return True


def fault(logger: logging.Logger, kind: str, charger: str | None, message: str, *args,
          error: BaseException | None = None, level: int = logging.WARNING) -> bool:  # fmt: skip
    """Log an expected fault as one line (no traceback), at most once per interval per kind and
    charger. Returns whether the line was written."""
    return _emit(logger, level, kind, charger, message, args, error, with_traceback=False)


def bug(logger: logging.Logger, kind: str, charger: str | None, message: str, *args,
        error: BaseException | None = None) -> bool:  # fmt: skip
    """Log an unexpected exception with its traceback (call from an `except` block, or pass
    `error`), rate-limited like `fault`: a bug a charger can trigger with every frame must not
    flood the log either."""
    error = error if error is not None else sys.exception()
    return _emit(logger, logging.ERROR, kind, charger, message, args, error, with_traceback=True)


def failure(logger: logging.Logger, kind: str, charger: str | None, message: str, *args,
            error: BaseException) -> bool:  # fmt: skip
    """`fault` for an expected exception (the database), `bug` for anything else."""
    if isinstance(error, EXPECTED):
        return fault(logger, kind, charger, message, *args, error=error)
    return bug(logger, kind, charger, message, *args, error=error)
