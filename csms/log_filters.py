"""Logging for an operator (issue 15.9): an outage of a server we depend on is an expected
fault, logged as one line, not as a traceback per attempt."""

import logging

import redis.exceptions

# Redis unreachable, refusing, or dropping the connection: the library retries by itself.
OUTAGE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)


class OutageWithoutTraceback(logging.Filter):
    """For libraries that log every failed reconnect with its traceback (channels-redis's
    "Unexpected exception in receive task"): the record keeps its message and gains the
    exception's one-line summary; the traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, OUTAGE_ERRORS):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args, record.exc_info, record.exc_text = None, None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
