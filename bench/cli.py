"""python -m bench [fleet|throughput|storm|all|commands] [options]: run scenarios against our
server and the baseline, print the table, write the JSON report.

`all` is fleet, throughput and storm. `commands` (commands through the API to chargers on
another server process; PostgreSQL and Redis only, no baseline) runs on its own.

Exits 1 when our server lost an acknowledged transactional message, or lost or duplicated a
command (the figures that are defects at any load); slow figures are results, not failures.
"""

import argparse
import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

from bench.chargers import raise_open_file_limit
from bench.report import machine, rows, table
from bench.scenarios import CommandSettings, ScenarioSettings, run_commands_scenario, run_scenario
from bench.servers import BASELINE, OURS
from common.live_server import REPO

SCENARIOS = ("fleet", "throughput", "storm")
COMMANDS = "commands"

# Chosen so that `make bench` (all three) takes a few minutes on 2 cores. The targets of
# issue 7 are: fleet --chargers 10000, storm --chargers 5000 --reconnect-spread 30.
DEFAULTS = {
    "fleet": ScenarioSettings(
        name="fleet",
        chargers=2000,
        duration=60,
        heartbeat=30,
        meter_interval=60,
        charging_share=0.3,
        session_seconds=30,
        ramp_rate=250,
        call_timeout=30,
        settle=0,
        reconnect_spread=0,
        client_processes=1,
    ),
    "throughput": ScenarioSettings(
        name="throughput",
        chargers=200,
        duration=30,
        heartbeat=30,
        meter_interval=0,
        charging_share=0,
        session_seconds=0,
        ramp_rate=250,
        call_timeout=30,
        settle=0,
        reconnect_spread=0,
        client_processes=1,
    ),
    "storm": ScenarioSettings(
        name="storm",
        chargers=2000,
        duration=30,
        heartbeat=30,
        meter_interval=10,
        charging_share=0.3,
        session_seconds=60,
        ramp_rate=250,
        call_timeout=30,
        settle=10,
        reconnect_spread=1,
        client_processes=1,
    ),
}
# About 50 s with two server processes to start and 200 chargers to connect.
COMMAND_DEFAULTS = CommandSettings(name=COMMANDS, chargers=200, duration=30, rate=200, ramp_rate=250, call_timeout=30)
# A few seconds per scenario with 5 chargers: the structure is exercised, nothing is timed.
COMMAND_SMOKE = {"chargers": 5, "duration": 3, "rate": 20, "call_timeout": 10}
SMOKE = {
    "chargers": 5,
    "duration": 3,
    "heartbeat": 1,
    "meter_interval": 1,
    "session_seconds": 2,
    "settle": 2,
    "ramp_rate": 50,
    "call_timeout": 10,
    "charging_share": 1.0,
}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", nargs="?", default="all", choices=[*SCENARIOS, "all", COMMANDS])
    parser.add_argument("--chargers", type=int, help="fleet/storm default 2000, throughput and commands 200")
    parser.add_argument("--rate", type=float, help="commands: commands per second, all chargers together (200)")
    parser.add_argument("--duration", type=float, help="s after the ramp-up (storm: after the restart)")
    parser.add_argument("--heartbeat", type=float, help="Heartbeat interval, s (default 30)")
    parser.add_argument("--meter-interval", type=float, help="MeterValues interval in a session, s")
    parser.add_argument("--charging-share", type=float, help="share of connectors in a session (0.3)")
    parser.add_argument("--ramp-rate", type=float, help="new connections per second (250)")
    parser.add_argument("--reconnect-spread", type=float, help="storm: chargers reconnect within this many s (1)")
    parser.add_argument("--client-processes", type=int, help="client worker processes (1)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--redis", action="store_true", help="our server with the Redis channel layer (REDIS_URL)")
    parser.add_argument("--no-baseline", action="store_true", help="our server only, no ratios")
    parser.add_argument(
        "--ocpp",
        choices=["1.6", "2.0.1"],
        default="1.6",
        help="what the simulated chargers speak; 2.0.1 runs ours only (the baseline speaks 1.6)",
    )
    parser.add_argument(
        "--integrations",
        action="store_true",
        help="ours with outbound events on: a webhook subscription to every event type and the Redis "
        "stream (needs --redis)",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long runs with 5 chargers")
    parser.add_argument("--json", type=Path, help="report path (default var/bench/<timestamp>.json)")
    return parser


def settings_for(name: str, args: argparse.Namespace) -> ScenarioSettings:
    settings = DEFAULTS[name]
    if args.smoke:
        settings = replace(settings, **SMOKE)
        if name == "storm":
            # Room for the restart itself (Django starts in 1-3 s) before the end.
            settings = replace(settings, duration=8)
    overrides = {
        "chargers": args.chargers if name != "throughput" or args.scenario == "throughput" else None,
        "duration": args.duration,
        "heartbeat": args.heartbeat,
        "meter_interval": args.meter_interval,
        "charging_share": args.charging_share,
        "ramp_rate": args.ramp_rate,
        "reconnect_spread": args.reconnect_spread,
        "client_processes": args.client_processes,
        "ocpp": args.ocpp,
        "integrations": args.integrations or None,
    }
    settings = replace(settings, **{key: value for key, value in overrides.items() if value is not None})
    if args.duration is not None and name == "fleet":
        settings = replace(settings, session_seconds=max(2.0, args.duration / 2))
    return settings


def command_settings(args: argparse.Namespace) -> CommandSettings:
    settings = replace(COMMAND_DEFAULTS, **COMMAND_SMOKE) if args.smoke else COMMAND_DEFAULTS
    overrides = {"chargers": args.chargers, "duration": args.duration, "rate": args.rate, "ramp_rate": args.ramp_rate}
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})


def run_commands(args: argparse.Namespace, run_dir: Path) -> dict:
    """Ours only: the baseline server has no API."""
    settings = command_settings(args)
    print(
        f"== {COMMANDS} against {OURS}: {settings.chargers} chargers, {settings.rate:g}/s", file=sys.stderr, flush=True
    )
    figures = run_commands_scenario(settings, args.database, args.redis, run_dir)
    return {
        OURS: figures,
        "comparison": [{"figure": figure, "ours": ours} for figure, ours, _, _ in rows(figures, None)],
    }


def defects(report: dict) -> int:
    """Acknowledged messages lost, commands lost or duplicated: any of them fails the run."""
    return sum(
        scenario[OURS]["lost"]["total"] + scenario[OURS].get("duplicated", 0)
        for scenario in report["scenarios"].values()
    )


def run(args: argparse.Namespace, run_dir: Path) -> dict:
    report = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "database": args.database,
        "redis": args.redis,
        "integrations": args.integrations,
        "scenarios": {},
    }
    if args.scenario == COMMANDS:
        report["scenarios"][COMMANDS] = run_commands(args, run_dir)
        return report
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    for name in names:
        settings = settings_for(name, args)
        scenario = {}
        # The baseline server speaks 1.6 only: a 2.0.1 run is compared with nothing.
        for kind in (OURS,) if args.no_baseline or args.ocpp != "1.6" else (OURS, BASELINE):
            print(f"== {name} against {kind}: {settings.chargers} chargers", file=sys.stderr, flush=True)
            scenario[kind] = run_scenario(settings, kind, args.database, args.redis, run_dir)
        scenario["comparison"] = [
            {"figure": figure, "ours": ours, "baseline": baseline, "x_better": ratio}
            for figure, ours, baseline, ratio in rows(scenario[OURS], scenario.get(BASELINE))
        ]
        report["scenarios"][name] = scenario
    return report


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Inherited by the servers and client processes started from here.
    raise_open_file_limit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = REPO / "var" / "bench" / stamp
    report = run(args, run_dir)
    path = args.json or REPO / "var" / "bench" / f"{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"\nJSON: {path}\nlogs: {run_dir}")
    return 1 if defects(report) else 0
