"""A seconds-long run of each scenario with 5 chargers, against our server and the baseline
(the commands scenario: ours only, on PostgreSQL + Redis): the harness works end to end and
nothing acknowledged is lost. No timing is asserted (CI machines vary); the figures are the
benchmark's business, not the suite's.

On the embedded defaults, or PostgreSQL (+ Redis) when DATABASE_URL (and REDIS_URL) say so,
as in the second stage of .ci/run.
"""

import os

import pytest

from bench.cli import defects, parser, run
from bench.servers import BASELINE, OURS

DATABASE = "postgres" if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) else "sqlite"
REDIS = bool(os.environ.get("REDIS_URL"))
FIGURES = {
    "connections_held",
    "messages_per_s",
    "latency",
    "rss_per_connection_kib",
    "cpu_percent",
    "errors",
    "acknowledged",
    "lost",
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", ["fleet", "throughput", "storm"])
def test_scenario_runs_without_errors_or_lost_messages(scenario, tmp_path):
    argv = [scenario, "--smoke", "--database", DATABASE, *(["--redis"] if REDIS else [])]
    report = run(parser().parse_args(argv), tmp_path)

    result = report["scenarios"][scenario]
    assert {row["figure"] for row in result["comparison"]} >= {"connections held", "messages/s", "errors"}
    for kind in (OURS, BASELINE):
        figures = result[kind]
        assert figures.keys() >= FIGURES, kind
        assert figures["errors"] == 0, (kind, figures["error_kinds"], figures["error_examples"])
        assert figures["lost"]["total"] == 0, (kind, figures["lost"])
        assert figures["connections_held"] == 5, kind
        assert {"BootNotification", "Heartbeat", "StatusNotification"} <= figures["latency"].keys()
        assert figures["acknowledged"]["meter_values"] > 0, kind
        if scenario != "throughput":
            assert figures["acknowledged"]["started"] > 0, kind
        if scenario == "storm":
            storm = figures["storm"]
            assert storm["reconnected"] == storm["connected_before"] == 5, (kind, storm)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", ["fleet", "throughput"])
def test_201_stations_run_without_errors_or_lost_messages(scenario, tmp_path):
    """`--ocpp 2.0.1`: TransactionEvent sessions; ours only (the baseline speaks 1.6)."""
    argv = [scenario, "--smoke", "--ocpp", "2.0.1", "--database", DATABASE, *(["--redis"] if REDIS else [])]
    report = run(parser().parse_args(argv), tmp_path)

    figures = report["scenarios"][scenario][OURS]
    assert BASELINE not in report["scenarios"][scenario]
    assert figures["errors"] == 0, (figures["error_kinds"], figures["error_examples"])
    assert figures["lost"]["total"] == 0, figures["lost"]
    assert figures["connections_held"] == 5
    assert {"BootNotification", "StatusNotification", "TransactionEvent"} <= figures["latency"].keys()
    assert figures["acknowledged"]["started"] > 0
    assert figures["acknowledged"]["meter_values"] > 0


# The commands scenario needs two server processes that reach each other, as test_cross_process
# does: it runs where REDIS_URL and a PostgreSQL DATABASE_URL are set (CI's second stage).
@pytest.mark.skipif(not REDIS or DATABASE != "postgres", reason="needs PostgreSQL and Redis (CI starts them)")
@pytest.mark.timeout(240)
def test_commands_scenario_delivers_every_command_once_and_reads_it_back(tmp_path):
    report = run(parser().parse_args(["commands", "--smoke", "--database", "postgres", "--redis"]), tmp_path)

    figures = report["scenarios"]["commands"][OURS]
    assert figures["errors"] == 0, (figures["error_kinds"], figures["error_examples"])
    assert figures["connections_held"] == 5
    counts = figures["commands"]
    assert counts["planned"] == counts["accepted"] == counts["received"] == counts["settled"] > 0, counts
    assert counts["final_statuses"] == {"accepted": counts["planned"]}, counts
    assert figures["lost"]["total"] == 0, figures["lost"]
    assert figures["duplicated"] == 0
    for name in ("api_to_charger", "answer_to_readable"):
        assert figures["latency"][name]["count"] == counts["planned"], name
    assert defects(report) == 0


def test_commands_scenario_refuses_to_run_without_postgres_and_redis(tmp_path):
    with pytest.raises(SystemExit, match="needs --database postgres --redis"):
        run(parser().parse_args(["commands", "--smoke"]), tmp_path)
