"""Prometheus metrics (issue 20): a charger's frames, CALL durations, CALLERRORs and the
group-commit rounds reach /api/metrics; database figures are read when scraped; only a bearer
token or an allowed address may scrape; the Grafana dashboard asks only for metrics that exist."""

import json
import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from integrations import metrics
from ocpp_gateway.tests.conftest import boot

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "csms-dashboard.json"


def scrape(**headers) -> tuple[int, str]:
    answer = Client().get("/api/metrics", HTTP_HOST="127.0.0.1", **headers)
    return answer.status_code, answer.content.decode()


def value(text: str, name: str, **labels) -> float:
    """The sample `name{labels...}` of a scrape (labels in any order; others ignored)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.asyncio
async def test_a_chargers_frames_and_calls_are_counted(connected):
    before = (await sync_to_async(scrape)(REMOTE_ADDR="127.0.0.1"))[1]
    await boot(connected)
    await connected.result("Heartbeat", {})
    await connected.send_raw('[2, "x-1", "NoSuchAction", {}]')
    await connected.receive()
    status, after = await sync_to_async(scrape)(REMOTE_ADDR="127.0.0.1")
    assert status == 200

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("csms_ocpp_frames_total", version="ocpp1.6", direction="in", type="call", action="Heartbeat") == 1
    assert grew("csms_ocpp_frames_total", version="ocpp1.6", direction="out", type="callresult",
                action="BootNotification") == 1  # fmt: skip
    assert grew("csms_ocpp_callerrors_total", version="ocpp1.6", direction="out", code="NotImplemented") == 1
    assert grew("csms_ocpp_call_duration_seconds_count", version="ocpp1.6", action="Heartbeat") == 1
    assert grew("csms_group_commit_round_items_count") >= 1
    assert value(after, "csms_chargers_connected", version="1.6") == 1
    assert "csms_command_queue{" in after
    assert "csms_sessions_active " in after


@pytest.mark.asyncio
async def test_only_a_token_or_an_allowed_address_may_scrape(settings):
    settings.METRICS_TOKEN = "s3cret"
    assert (await sync_to_async(scrape)(REMOTE_ADDR="203.0.113.9"))[0] == 401
    assert (await sync_to_async(scrape)(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong"))[0] == 401
    assert (await sync_to_async(scrape)(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret"))[0] == 200
    settings.METRICS_ALLOWED_ADDRESSES = ["203.0.113.0/24"]
    assert (await sync_to_async(scrape)(REMOTE_ADDR="203.0.113.9"))[0] == 200


@pytest.mark.asyncio
async def test_the_grafana_dashboard_queries_metrics_that_exist(connected):
    await boot(connected)
    dashboard = json.loads(DASHBOARD.read_text())
    exposed = await sync_to_async(scrape)(REMOTE_ADDR="127.0.0.1")
    names = set(re.findall(r"^# TYPE (\w+) (\w+)", exposed[1], re.MULTILINE))
    families = {name for name, _ in names}
    suffixed = families | {f"{name}_total" for name, kind in names if kind == "counter"}
    suffixed |= {f"{name}_{part}" for name, kind in names if kind == "histogram" for part in ("bucket", "sum", "count")}
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\b(csms_\w+)", target["expr"])
    }
    assert queried, "the dashboard queries nothing"
    assert queried <= suffixed, queried - suffixed


def test_multiprocess_mode_adds_up_the_processes_files(tmp_path, monkeypatch):
    from prometheus_client import CollectorRegistry, generate_latest

    # Two processes' files, as prometheus-client writes them in multiprocess mode.
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    for pid in (101, 102):
        values = MmapedDict(str(tmp_path / f"counter_{pid}.db"))
        key = mmap_key("csms_ocpp_frames", "csms_ocpp_frames_total", ["version", "direction", "type", "action"],
                       ["ocpp1.6", "in", "call", "Heartbeat"], "")  # fmt: skip
        values.write_value(key, 3.0, 0.0)
        values.close()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()
    assert value(text, "csms_ocpp_frames_total", action="Heartbeat") == 6.0
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert isinstance(metrics.registry(), CollectorRegistry)


def test_the_call_histogram_copied_in_bulk_equals_one_observe_per_call():
    from prometheus_client import CollectorRegistry, Histogram

    from ocpp_gateway import stats

    durations = [0.0004, 0.001, 0.0011, 0.02, 0.02, 0.3, 4.0, 9.0]
    reference = Histogram("reference", "one observe per CALL", ["version", "action"], buckets=stats.CALL_BUCKETS,
                          registry=CollectorRegistry())  # fmt: skip
    for seconds in durations:
        stats.time_call("test-version", "BulkCopy", seconds)
        reference.labels("test-version", "BulkCopy").observe(seconds)
    metrics.flush()

    def samples(histogram) -> dict:
        return {
            (sample.name.rsplit("_", 1)[1], sample.labels.get("le")): sample.value
            for family in histogram.collect()
            for sample in family.samples
            if sample.labels.get("action") == "BulkCopy" and not sample.name.endswith("_created")
        }

    assert samples(metrics.CALL_SECONDS) == pytest.approx(samples(reference))
