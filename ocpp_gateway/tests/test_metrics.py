"""Prometheus metrics (issue 20): a charger's frames, CALL durations, CALLERRORs, sockets and the
group-commit rounds reach /api/metrics; database and broker figures are read when scraped (and a
database that does not answer is a 0, not a failed scrape); only a bearer token, a platform
administrator or an allowed address may scrape; several processes add up through
PROMETHEUS_MULTIPROC_DIR; the Grafana dashboard asks only for metrics that exist."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection
from django.test import AsyncClient, Client
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from integrations import metrics
from ocpp_gateway.tests.conftest import boot

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "csms-dashboard.json"


def scrape(path: str = "/api/metrics", client: Client | None = None, **headers) -> tuple[int, str]:
    answer = (client or Client()).get(path, HTTP_HOST="127.0.0.1", **headers)
    return answer.status_code, answer.content.decode()


def value(text: str, name: str, **labels) -> float:
    """The sample `name{labels...}` of a scrape, read with prometheus-client's parser (labels
    not given are summed over; 0 when absent)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == wanted for key, wanted in labels.items()):
                total += sample.value
    return total


def exposed_names(text: str) -> set[str]:
    """Every sample name a query may use: the families, with the suffixes of their types."""
    names = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.MULTILINE))
    exposed = {name for name, _ in names}
    exposed |= {f"{name}_total" for name, kind in names if kind == "counter"}
    exposed |= {f"{name}_{part}" for name, kind in names if kind == "histogram" for part in ("bucket", "sum", "count")}
    return exposed


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
    assert grew("csms_ocpp_call_duration_seconds_bucket", version="ocpp1.6", action="Heartbeat", le="+Inf") == 1
    assert grew("csms_group_commit_round_items_count") >= 1
    assert value(after, "csms_chargers_connected", version="1.6") == 1
    assert value(after, "csms_process_chargers_connected", version="ocpp1.6") == 1
    assert value(after, "csms_database_up") == 1
    # The first scrape itself, counted by the middleware.
    assert grew("csms_http_requests_total", method="GET", view="metrics", status="200") == 1
    assert "csms_command_queue{" in after
    assert "csms_sessions_active " in after


@pytest.mark.asyncio
async def test_a_closed_socket_leaves_the_process_gauge(connected):
    await boot(connected)
    await connected.disconnect()
    text = (await sync_to_async(scrape)(REMOTE_ADDR="127.0.0.1"))[1]
    assert value(text, "csms_process_chargers_connected", version="ocpp1.6") == 0


def test_only_a_token_a_platform_admin_or_an_allowed_address_may_scrape(settings):
    settings.METRICS_TOKEN = "s3cret"
    outsider = {"REMOTE_ADDR": "203.0.113.9"}
    assert scrape(**outsider)[0] == 401
    assert scrape(**outsider, HTTP_AUTHORIZATION="Bearer wrong")[0] == 401
    assert scrape(**outsider, HTTP_AUTHORIZATION="Bearer s3crét")[0] == 401  # not a 500
    assert scrape(**outsider, HTTP_AUTHORIZATION="Bearer s3cret")[0] == 200
    assert scrape("/metrics", **outsider, HTTP_AUTHORIZATION="Bearer s3cret")[0] == 200  # Prometheus's default path
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert scrape(client=staff, **outsider)[0] == 401
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert scrape(client=admin, **outsider)[0] == 200
    settings.METRICS_TOKEN = ""
    assert scrape(**outsider, HTTP_AUTHORIZATION="Bearer ")[0] == 401  # no token set: no token works
    settings.METRICS_ALLOWED_ADDRESSES = ["localhost", "203.0.113.0/24"]  # a typo is skipped
    assert scrape(**outsider)[0] == 200


def test_a_database_that_does_not_answer_is_a_zero_not_a_failed_scrape():
    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database is down")

    with connection.execute_wrapper(refuse):
        status, text = scrape(REMOTE_ADDR="127.0.0.1")
    assert status == 200
    assert value(text, "csms_database_up") == 0
    assert "csms_sessions_active " not in text
    assert "csms_ocpp_frames_total" in text or "# TYPE csms_ocpp_frames counter" in text  # the rest is there


def test_the_celery_queue_is_read_when_there_is_a_broker(settings):
    assert "csms_celery_queue_depth{" not in scrape(REMOTE_ADDR="127.0.0.1")[1]  # eager: no broker, no depth
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "memory://"
    assert value(scrape(REMOTE_ADDR="127.0.0.1")[1], "csms_celery_queue_depth", queue="celery") == 0
    assert "csms_celery_queue_depth{" in scrape(REMOTE_ADDR="127.0.0.1")[1]


def test_observe_many_is_observe_for_each_value():
    values = [0.0005, 0.001, 0.003, 0.003, 0.2, 7.0, 99.0]
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    buckets = (0.001, 0.01, 0.1, 1.0, 5.0)
    single = Histogram("h", "h", buckets=buckets, registry=one_by_one)
    for item in values:
        single.observe(item)
    metrics.observe_many(Histogram("h", "h", buckets=buckets, registry=at_once), values)

    def samples(registry: CollectorRegistry) -> dict:
        text = generate_latest(registry).decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if not sample.name.endswith("_created")
        }

    assert samples(at_once) == pytest.approx(samples(one_by_one))


@pytest.mark.asyncio
async def test_the_grafana_dashboard_queries_metrics_that_exist(connected):
    await boot(connected)
    dashboard = json.loads(DASHBOARD.read_text())
    scraped = (await sync_to_async(scrape)(REMOTE_ADDR="127.0.0.1"))[1]
    exposed = exposed_names(scraped)
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\b(csms_\w+)", target["expr"])
    }
    assert queried, "the dashboard queries nothing"
    assert queried <= exposed, queried - exposed
    # Every metric we export has a panel.
    families = {
        family.name
        for family in text_string_to_metric_families(scraped)
        if family.name.startswith("csms_") and not family.name.endswith("_created")
    }
    shown = {family for family in families if any(re.match(rf"{family}(_\w+)?$", name) for name in queried)}
    assert families == shown, families - shown


# A server process in multiprocess mode: counts frames, opens a socket, copies them into its files
# and exits (its live gauges leave the sum; its counters stay).
PROCESS = textwrap.dedent(
    """
    import os
    import pathlib
    import django
    django.setup()
    from ocpp_gateway import stats
    from integrations import metrics
    stats.count_frame("ocpp1.6", "in", 2, "Heartbeat", "")
    stats.count_frame("ocpp2.0.1", "out", 4, "", "FormatViolation")
    stats.socket_opened("ocpp1.6")
    stats.time_call("ocpp1.6", "Heartbeat", 0.002)
    metrics.flush()
    print(sorted(path.name for path in pathlib.Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).iterdir()))
    """
)


def test_multiprocess_mode_adds_up_the_processes(tmp_path, monkeypatch):
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "csms.settings",
                   "METRICS_FLUSH_SECONDS": "0"}  # fmt: skip
    environment.pop("DATABASE_URL", None)
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", PROCESS], cwd=ROOT, env=environment, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "gauge_liveall_" in done.stdout  # its socket was there while it ran
    assert not list(tmp_path.glob("gauge_liveall_*.db"))  # and left with it
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    status, text = scrape(REMOTE_ADDR="127.0.0.1")
    assert status == 200
    assert value(text, "csms_ocpp_frames_total", version="ocpp1.6", direction="in", action="Heartbeat") == 2
    assert value(text, "csms_ocpp_callerrors_total", version="ocpp2.0.1", code="FormatViolation") == 2
    assert value(text, "csms_ocpp_call_duration_seconds_count", action="Heartbeat") == 2
    assert value(text, "csms_process_chargers_connected") == 0
    assert value(text, "csms_database_up") == 1  # read by the process that answers


@pytest.mark.asyncio
async def test_requests_through_the_async_stack_are_counted(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    client = AsyncClient()
    before = (await client.get("/api/metrics")).content.decode()
    await client.get("/api/no-such-thing")
    answer = await client.get("/api/metrics")
    assert answer.status_code == 200
    after = answer.content.decode()
    assert (
        value(after, "csms_http_requests_total", view="metrics", status="200")
        - value(before, "csms_http_requests_total", view="metrics", status="200")
        == 1
    )
    assert value(after, "csms_http_requests_total", view="unmatched", status="404") >= 1


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
