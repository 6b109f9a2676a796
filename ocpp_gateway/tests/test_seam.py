"""The seam: the one door from the event loop to the database. Nothing else in the gateway
crosses to a thread; `write_now` commits through the group-commit writer; `OwnThread` and
`one_off` run sync code where they say."""

import ast
import threading
from pathlib import Path

import pytest
from django.db import transaction

from ocpp_gateway import group_commit, seam
from ocpp_gateway.tests.conftest import db
from sites.models import Charger

GATEWAY = Path(seam.__file__).parent
# The seam, and the group-commit engine behind it.
MAY_CROSS = {GATEWAY / "seam.py", GATEWAY / "group_commit.py"}
CROSSING_IMPORTS = {("asgiref.sync", "sync_to_async"), ("channels.db", "database_sync_to_async")}
CROSSING_CALLS = {"sync_to_async", "database_sync_to_async", "run_in_executor", "to_thread"}


def _crossings(path: Path) -> list[str]:
    """Where a module imports or calls a way to run sync code from the event loop."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found += [f"imports {alias.name}" for alias in node.names if (node.module, alias.name) in CROSSING_IMPORTS]
        elif isinstance(node, ast.Attribute) and node.attr in CROSSING_CALLS:
            found.append(f"uses .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in CROSSING_CALLS:
            found.append(f"uses {node.id}")
    return [f"{path.relative_to(GATEWAY)}:{line}" for line in found]


def _gateway_modules() -> list[Path]:
    return [path for path in GATEWAY.rglob("*.py") if "tests" not in path.relative_to(GATEWAY).parts]


def test_only_the_seam_crosses_from_the_event_loop_to_the_database():
    modules = _gateway_modules()
    assert GATEWAY / "consumer.py" in modules
    assert GATEWAY / "v16" / "handlers.py" in modules
    crossings = [crossing for path in modules if path not in MAY_CROSS for crossing in _crossings(path)]
    assert crossings == []


def test_the_check_finds_a_crossing(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "from asgiref.sync import sync_to_async\nasync def f(loop):\n    await loop.run_in_executor(None, g)\n"
    )
    found = _crossings_in(module)
    assert found == ["imports sync_to_async", "uses .run_in_executor"]


def _crossings_in(path: Path) -> list[str]:
    global GATEWAY
    saved, GATEWAY = GATEWAY, path.parent
    try:
        return [crossing.split(":", 1)[1] for crossing in _crossings(path)]
    finally:
        GATEWAY = saved


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_write_now_returns_after_the_commit_on_the_group_commit_writer(make_charger):
    charger = (await db(make_charger)("CP-SEAM-1")).charger

    def rename(*, charger_id: int, vendor: str) -> tuple[str, bool]:
        Charger.objects.filter(pk=charger_id).update(vendor=vendor)
        return threading.current_thread().name, transaction.get_connection().in_atomic_block

    thread_name, in_transaction = await seam.write_now(rename, charger_id=charger.pk, vendor="renamed")
    assert thread_name.startswith("ocpp-group-commit")
    assert in_transaction  # the round's transaction
    assert (await db(Charger.objects.get)(pk=charger.pk)).vendor == "renamed"  # committed


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_write_now_raises_what_the_service_raised(make_charger):
    def refuse(*, charger_id: int) -> None:
        raise LookupError("refused")

    with pytest.raises(LookupError, match="refused"):
        await seam.write_now(refuse, charger_id=None)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_own_thread_runs_in_its_thread_and_keeps_it():
    thread = seam.OwnThread("seam-test")

    def name(suffix: str) -> str:
        return threading.current_thread().name + suffix

    first = await thread.run(name, "!")
    assert first.startswith("seam-test")
    assert first.endswith("!")
    assert await thread.run(name, "!") == first  # one worker: the same thread, the same connection
    await thread.close_connections()


@pytest.mark.asyncio
async def test_closing_a_thread_never_started_starts_none():
    thread = seam.OwnThread("seam-idle")
    await thread.close_connections()
    assert thread._executor is None


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_one_off_runs_on_channels_database_thread():
    main_thread = threading.current_thread().name
    ran_in = await seam.one_off(lambda: threading.current_thread().name)
    assert ran_in != main_thread
    assert ran_in == await db(lambda: threading.current_thread().name)()  # the thread-sensitive one


def test_the_seam_re_exports_the_engines_groups():
    assert seam.BOOTS is group_commit.BOOTS
    assert seam.TRANSACTIONS is group_commit.TRANSACTIONS
    assert seam.LIVENESS is group_commit.LIVENESS
