"""Figures from the raw results, and the report: a table for people, JSON for tools.

Latency percentiles are over every answered CALL of the run (ramp-up included); messages/s
over the steady window (every charger connected and set up -> end of the scenario); RSS per
connection = (peak RSS in that window - RSS before any charger connected) / connections held
at the end; CPU = server CPU time over the window, as % of one core.
"""

import math
import os
import platform
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict

from bench.chargers import ClientResult
from bench.servers import Sample

MAX_EXAMPLES = 10
STORM_HEARTBEAT_TAIL = 5.0  # s after the last reconnection still counted as "during the storm"


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency(values: Iterable[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
    }


def _server_usage(samples: list[Sample], idle: Sample | None, start: float, end: float, held: int) -> dict:
    window = [sample for sample in samples if start <= sample.at <= end]
    if window:
        # After a restart only the new process counts (its CPU time starts again at zero).
        window = [sample for sample in window if sample.pid == window[-1].pid]
    usage: dict = {"rss_idle_kib": idle.rss_kib if idle else None, "rss_peak_kib": None}
    usage.update(rss_per_connection_kib=None, cpu_percent=None, cpu_seconds=None)
    if not window:
        return usage
    peak = max(sample.rss_kib for sample in window)
    usage["rss_peak_kib"] = peak
    if idle and held:
        usage["rss_per_connection_kib"] = round((peak - idle.rss_kib) / held, 1)
    first, last = window[0], window[-1]
    if last.at > first.at:
        usage["cpu_seconds"] = round(last.cpu_seconds - first.cpu_seconds, 2)
        usage["cpu_percent"] = round(usage["cpu_seconds"] / (last.at - first.at) * 100, 1)
    return usage


def _storm(result: ClientResult, restart: dict, chargers: int) -> dict:
    started, sigterm = restart["started_at"], restart["sigterm_at"]
    before = {number for number, at in result.opened if at < sigterm}
    first_back: dict[int, float] = {}
    for number, at in sorted(result.opened, key=lambda opened: opened[1]):
        if at >= sigterm:
            first_back.setdefault(number, at)
    last = max(first_back.values(), default=started)
    heartbeats = [
        lag for sent, lag in result.samples.get("Heartbeat", []) if started <= sent <= last + STORM_HEARTBEAT_TAIL
    ]
    return {
        "chargers": chargers,
        "connected_before": len(before),
        "reconnected": len(first_back),
        "handshake_failures": dict(result.handshake_failures),
        "server_down_s": round(started - sigterm, 2),
        "server_healthy_after_s": round(restart["healthy_after_s"], 2),
        "all_accepted_after_s": round(last - started, 2) if first_back else None,
        "heartbeat_during_storm": latency(heartbeats),
        "exit_code_at_restart": restart["exit_code"],
    }


def summarize(
    *,
    settings: dict,
    result: ClientResult,
    samples: list[Sample],
    idle: Sample | None,
    window: tuple[float, float],
    restart: dict | None,
    found: dict[str, set[tuple]],
    exit_code: int | None,
) -> dict:
    start, end = window
    answered = sum(1 for samples_ in result.samples.values() for sent, lag in samples_ if start <= sent + lag <= end)
    acknowledged = {
        "started": set(result.started),
        "stopped": set(result.stopped),
        "meter_values": set(result.meter_values),
    }
    lost = {name: len(acked - found[name]) for name, acked in acknowledged.items()}
    errors = dict(result.errors)
    if exit_code is None:
        errors["server did not stop within 30 s of SIGTERM"] = 1
    figures = {
        "connections_held": result.held_at_end,
        "connected": len(result.ready_at),
        "messages_per_s": round(answered / (end - start), 1) if end > start else None,
        "window_s": round(end - start, 1),
        "latency": {action: latency(lag for _sent, lag in result.samples[action]) for action in sorted(result.samples)},
        **_server_usage(samples, idle, start, end, result.held_at_end),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_examples": result.error_examples,
        "acknowledged": {name: len(acked) for name, acked in acknowledged.items()},
        "lost": {**lost, "total": sum(lost.values())},
        "server_exit_code": exit_code,
        "settings": settings,
    }
    if figures["cpu_seconds"] is not None and answered:
        figures["cpu_us_per_message"] = round(figures["cpu_seconds"] / answered * 1e6, 1)
    else:
        figures["cpu_us_per_message"] = None
    if restart is not None:
        figures["storm"] = _storm(result, restart, settings["chargers"])
    return figures


# --- The commands scenario ----------------------------------------------------------------


def _gaps(traces: list, start: str, end: str) -> list[float]:
    """`end - start` of every trace that has both times."""
    pairs = ((getattr(trace, start), getattr(trace, end)) for trace in traces)
    return [later - earlier for earlier, later in pairs if earlier is not None and later is not None]


def _command_counts(traces: list) -> dict:
    accepted = [trace for trace in traces if trace.command_id is not None]
    received = [trace for trace in accepted if trace.received_at]
    return {
        "planned": len(traces),
        "sent": sum(1 for trace in traces if trace.sent_at is not None),
        "accepted": len(accepted),
        "received": len(received),
        "settled": sum(1 for trace in accepted if trace.final_status),
        "settled_late": sum(1 for trace in accepted if trace.settled_late),
        "final_statuses": dict(Counter(trace.final_status for trace in accepted if trace.final_status)),
    }


def _accepted_rate(accepted: list) -> float | None:
    """What the API took: accepted commands over the time from the first POST to the last 202
    (below the planned rate when the API is the bottleneck)."""
    if not accepted:
        return None
    span = max(trace.accepted_at for trace in accepted) - min(trace.sent_at for trace in accepted)
    return round(len(accepted) / span, 1) if span > 0 else None


def _command_errors(charger_errors: Counter, traces: list, exit_codes: dict[str, int | None]) -> dict[str, int]:
    """The chargers' errors, the API's (by kind: the text up to the first colon), commands that
    ended otherwise than accepted (the chargers accept all), servers that did not stop."""
    errors = Counter(charger_errors)
    errors.update(trace.error.split(":")[0] for trace in traces if trace.error)
    errors.update(f"command {trace.final_status}" for trace in traces if trace.final_status not in ("", "accepted"))
    errors.update(
        f"{name} server did not stop within 30 s of SIGTERM" for name, code in exit_codes.items() if code is None
    )
    return dict(errors)


def summarize_commands(
    *,
    settings: dict,
    client,  # bench.command_client.CommandClientResult
    samples: dict[str, list[Sample]],
    exit_codes: dict[str, int | None],
) -> dict:
    """The commands scenario's figures. Lost: accepted by the API (202) but never received by
    a charger, or received but never readable as finished; duplicated: a command whose CALL a
    charger received more than once."""
    traces, result = client.traces, client.chargers
    start, end = client.submit_started_at, client.submit_ended_at
    accepted = [trace for trace in traces if trace.command_id is not None]
    never_received = sum(1 for trace in accepted if not trace.received_at)
    never_settled = sum(1 for trace in accepted if trace.received_at and not trace.final_status)
    errors = _command_errors(result.errors, traces, exit_codes)
    examples = result.error_examples + [trace.error for trace in traces if trace.error][:MAX_EXAMPLES]
    return {
        "connections_held": result.held_at_end,
        "connected": len(result.ready_at),
        "commands": _command_counts(traces),
        "commands_per_s": {"planned": settings["rate"], "accepted": _accepted_rate(accepted)},
        "latency": {
            "api_to_charger": latency(t.received_at[0] - t.sent_at for t in traces if t.received_at and t.sent_at),
            "answer_to_readable": latency(_gaps(accepted, "answered_at", "readable_at")),
            "end_to_end": latency(_gaps(accepted, "sent_at", "readable_at")),
            "post_to_202": latency(_gaps(accepted, "sent_at", "accepted_at")),
            "client_wait": latency(_gaps(traces, "planned_at", "sent_at")),
        },
        "polls_per_command": round(sum(t.polls for t in accepted) / len(accepted), 2) if accepted else None,
        "untagged_calls": client.untagged_calls,
        "client_cpu_percent": client.cpu_percent,
        "servers": {
            name: _server_usage(process_samples, None, start, end, 0) for name, process_samples in samples.items()
        },
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_examples": examples[:MAX_EXAMPLES],
        "lost": {
            "never_received": never_received,
            "never_settled": never_settled,
            "total": never_received + never_settled,
        },
        "duplicated": sum(1 for trace in accepted if len(trace.received_at) > 1),
        "lost_examples": [asdict(trace) for trace in accepted if not trace.final_status][:MAX_EXAMPLES],
        "server_exit_codes": exit_codes,
        "settings": settings,
    }


COMMAND_LATENCIES = {
    "api_to_charger": "API call -> CALL at charger p50/p95/p99 ms",
    "answer_to_readable": "answer -> result readable p50/p95/p99 ms",
    "end_to_end": "API call -> result readable p50/p95/p99 ms",
    "post_to_202": "POST -> 202 p50/p95/p99 ms",
    "client_wait": "client wait before sending p50/p95/p99 ms",
}


def command_rows(ours: dict) -> list[tuple[str, str, str, str]]:
    """The commands scenario has no baseline (the baseline server has no API): ours only."""
    counts = ours["commands"]
    lines = [
        ("connections held", str(ours["connections_held"])),
        ("commands planned / sent / accepted / received / settled",
         f"{counts['planned']} / {counts['sent']} / {counts['accepted']} / {counts['received']} / {counts['settled']}"),
        ("  settled but seen only after the run (not timed)", str(counts["settled_late"])),
        ("commands/s planned / accepted by the API",
         f"{ours['commands_per_s']['planned']:g} / {ours['commands_per_s']['accepted']}"),
    ]  # fmt: skip
    lines += [(label, _triple(ours["latency"][key])) for key, label in COMMAND_LATENCIES.items()]
    lines += [
        ("GET polls per command", str(ours["polls_per_command"])),
        *((f"{name} server CPU % of one core", str(usage["cpu_percent"])) for name, usage in ours["servers"].items()),
        ("client CPU % of one core", str(ours["client_cpu_percent"])),
        ("errors", str(ours["errors"])),
        ("lost (accepted, never received or settled)", str(ours["lost"]["total"])),
        ("duplicated (CALL received twice)", str(ours["duplicated"])),
    ]
    return [(label, value, "-", "-") for label, value in lines]


# --- Ours against the baseline -----------------------------------------------------------


def times_better(ours: float | None, baseline: float | None, higher_is_better: bool) -> float | None:
    """How many times better ours is: >1 means ours wins, whichever way the figure points."""
    if not ours or not baseline:
        return None
    return round(ours / baseline if higher_is_better else baseline / ours, 2)


def rows(ours: dict, baseline: dict | None) -> list[tuple[str, str, str, str]]:
    """(figure, ours, baseline, x better) lines of one scenario."""
    if "commands" in ours:
        return command_rows(ours)
    baseline = baseline or {}
    lines = []

    def add(label: str, mine, theirs, higher_is_better: bool | None, text=str, compared=None) -> None:
        """`compared`: the two numbers the ratio is of, when the cells show more than one."""
        ratio = None
        if higher_is_better is not None:
            ratio = times_better(*(compared or (mine, theirs)), higher_is_better)
        lines.append(
            (
                label,
                "-" if mine is None else text(mine),
                "-" if theirs is None else text(theirs),
                "-" if ratio is None else f"{ratio:.2f}x",
            )
        )

    add("connections held", ours["connections_held"], baseline.get("connections_held"), True)
    add("messages/s", ours["messages_per_s"], baseline.get("messages_per_s"), True)
    for action, figures in ours["latency"].items():
        theirs = baseline.get("latency", {}).get(action, {})
        # The ratio is of the p99s.
        add(
            f"{action} p50/p95/p99 ms",
            figures,
            theirs or None,
            False,
            _triple,
            (figures["p99_ms"], theirs.get("p99_ms")),
        )
    if "storm" in ours:
        storm, theirs = ours["storm"], baseline.get("storm", {})
        add("accepted after restart / chargers", _pair(storm), _pair(theirs) if theirs else None, None)
        add("all accepted after restart s", storm["all_accepted_after_s"], theirs.get("all_accepted_after_s"), False)
        add(
            "Heartbeat p99 during storm ms",
            storm["heartbeat_during_storm"]["p99_ms"],
            theirs.get("heartbeat_during_storm", {}).get("p99_ms"),
            False,
        )
    add("server RSS/connection KiB", ours["rss_per_connection_kib"], baseline.get("rss_per_connection_kib"), False)
    add("server CPU % of one core", ours["cpu_percent"], baseline.get("cpu_percent"), None)
    add("server CPU us/message", ours["cpu_us_per_message"], baseline.get("cpu_us_per_message"), False)
    add("errors", ours["errors"], baseline.get("errors"), None)
    add("lost (acknowledged, not stored)", ours["lost"]["total"], baseline.get("lost", {}).get("total"), None)
    return lines


def _triple(figures: dict) -> str:
    if not figures or not figures.get("count"):
        return "-"
    return f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} / {figures['p99_ms']:.1f}"


def _pair(storm: dict) -> str:
    return f"{storm['reconnected']} / {storm['chargers']}"


def table(report: dict) -> str:
    out = []
    for name, scenario in report["scenarios"].items():
        out.append(heading(name, scenario["ours"]["settings"], report))
        lines = [("", "ours", "baseline", "x better"), *rows(scenario["ours"], scenario.get("baseline"))]
        widths = [max(len(line[column]) for line in lines) for column in range(4)]
        for line in lines:
            out.append(
                f"  {line[0]:<{widths[0]}}  {line[1]:>{widths[1]}}  {line[2]:>{widths[2]}}  {line[3]:>{widths[3]}}"
            )
    return "\n".join(out)


def heading(name: str, settings: dict, report: dict) -> str:
    stores = f"{report['database']}{' + Redis' if report['redis'] else ''}"
    load = (
        f"{settings['rate']:g} commands/s for {settings['duration']:g} s"
        if "rate" in settings
        else f"{settings['duration']:g} s, heartbeat {settings['heartbeat']:g} s"
    )
    return f"\n{name}: {settings['chargers']} chargers, {load}, {stores}"


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    memory_kib = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory_kib = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal:")))
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
