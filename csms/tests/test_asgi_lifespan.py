"""The server's lifespan (csms/asgi.py) starts and stops the garbage collector's clock (common/garbage.py)."""

import pytest

from csms.asgi import lifespan


@pytest.mark.asyncio
async def test_the_server_lifespan_runs_the_clock(monkeypatch):
    started, stopped = [], []
    monkeypatch.setattr("csms.asgi.start_timed_collections", lambda: started.append(True))

    async def stop() -> None:
        stopped.append(True)

    monkeypatch.setattr("csms.asgi.stop_timed_collections", stop)
    for name in ("start_message_log_writer", "start_dashboard_publisher", "start_embedded_beat"):
        monkeypatch.setattr(f"csms.asgi.{name}", lambda: None)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message["type"])

    await lifespan({"type": "lifespan"}, receive, send)
    assert (started, stopped) == ([True], [True])
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
