"""The rate-limited fault log (issue 15): one line per expected fault, tracebacks for bugs only."""

import logging

import pytest
from django.db import DataError, OperationalError

from ocpp_gateway import fault_log

logger = logging.getLogger("ocpp_gateway.tests.fault_log")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.OCPP_FAULT_LOG_INTERVAL = 60
    fault_log.reset()
    ticking = Clock()
    monkeypatch.setattr(fault_log, "_clock", ticking)
    yield ticking
    fault_log.reset()


def _lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_fault_is_one_line_without_traceback_with_the_charger_and_the_error(clock, caplog):
    error = OperationalError('connection to server at "db" failed: refused\n\tIs the server running?')
    with caplog.at_level(logging.WARNING):
        assert fault_log.fault(logger, "database", "CP-1", "StartTransaction %s failed", "m1", error=error)
    [record] = caplog.records
    assert record.exc_info is None
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        '[database] CP-1: StartTransaction m1 failed: OperationalError: connection to server at "db" failed: refused'
    )


def test_repeats_within_the_interval_are_suppressed_and_counted_in_the_next_line(clock, caplog):
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            fault_log.fault(logger, "bad frame", "CP-1", "answered")
            clock.now += 1  # 50 s: all within one interval
        clock.now += 10
        fault_log.fault(logger, "bad frame", "CP-1", "answered")
    assert _lines(caplog) == ["[bad frame] CP-1: answered", "[bad frame] CP-1: answered (49 more suppressed)"]


def test_chargers_and_kinds_are_limited_separately(clock, caplog):
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            fault_log.fault(logger, "database", "CP-1", "x")
            fault_log.fault(logger, "database", "CP-2", "x")
            fault_log.fault(logger, "bad frame", "CP-1", "x")
            fault_log.fault(logger, "database", None, "x")
    assert _lines(caplog) == ["[database] CP-1: x", "[database] CP-2: x", "[bad frame] CP-1: x", "[database] -: x"]


def test_an_outage_is_one_event_for_all_chargers(clock, caplog):
    with caplog.at_level(logging.WARNING):
        for number in range(100):
            fault_log.fault(logger, "handler", f"CP-{number}", "x", error=OperationalError("down"))
        fault_log.fault(logger, "handler", "CP-1", "x", error=DataError("value too long"))  # about the data
        clock.now += 60
        fault_log.fault(logger, "handler", "CP-7", "x", error=OperationalError("down"))
    assert _lines(caplog) == [
        "[handler] CP-0: x: OperationalError: down",
        "[handler] CP-1: x: DataError: value too long",
        "[handler] CP-7: x: OperationalError: down (99 more suppressed)",
    ]


def test_the_interval_is_a_setting(clock, caplog, settings):
    settings.OCPP_FAULT_LOG_INTERVAL = 0
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            fault_log.fault(logger, "database", "CP-1", "x")
    assert len(caplog.records) == 3


def test_a_bug_keeps_its_traceback_and_is_rate_limited_too(clock, caplog):
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            try:
                {}["missing"]
            except KeyError:
                fault_log.bug(logger, "consumer", "CP-1", "websocket.receive failed")
    [record] = caplog.records
    assert record.levelname == "ERROR"
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError
    assert "Traceback" in caplog.text


def test_failure_tells_an_outage_from_a_bug(clock, caplog):
    with caplog.at_level(logging.WARNING):
        fault_log.failure(logger, "handler", "CP-1", "failed", error=OperationalError("down"))
        fault_log.failure(logger, "handler", "CP-2", "failed", error=ZeroDivisionError("bug"))
    expected, bug = caplog.records
    assert (expected.levelname, expected.exc_info) == ("WARNING", None)
    assert bug.levelname == "ERROR"
    assert bug.exc_info[0] is ZeroDivisionError


def test_hostile_text_stays_on_one_printable_line(clock, caplog):
    with caplog.at_level(logging.WARNING):
        fault_log.fault(logger, "bad frame", "CP\n1\x00" + "x" * 500, "action %s", "Heart\ud800\nbeat\x00")
    [line] = _lines(caplog)
    assert "\n" not in line
    assert "\x00" not in line
    assert "\\ud800" in line
    line.encode("utf-8")  # a handler writing UTF-8 can write it
    assert len(line) < 700


def test_the_table_of_windows_is_bounded(clock, caplog, monkeypatch):
    monkeypatch.setattr(fault_log, "MAX_KEYS", 10)
    with caplog.at_level(logging.WARNING):
        for number in range(25):
            fault_log.fault(logger, "handshake", f"MADE-UP-{number}", "x")
    assert len(fault_log._windows) <= 10
    assert len(caplog.records) == 25  # distinct chargers are each logged


def test_nothing_is_counted_when_the_level_is_off(clock, caplog):
    with caplog.at_level(logging.ERROR):
        assert not fault_log.fault(logger, "bad frame", "CP-1", "x", level=logging.INFO)
    assert fault_log._windows == {}
