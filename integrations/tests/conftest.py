import pytest


@pytest.fixture(autouse=True)
def _flush_by_hand(settings):
    """No background thread in these tests: it would read the database outside the test's
    transaction. The tests call publisher.flush() themselves."""
    settings.INTEGRATIONS_FLUSH_SECONDS = 0


@pytest.fixture(autouse=True)
def _deliver_here(monkeypatch):
    """With a broker (CI's PostgreSQL + Redis run) the batch would be queued for a worker: run
    the task here instead."""
    from integrations.tasks import deliver_events_task

    monkeypatch.setattr(deliver_events_task, "delay", lambda *args: deliver_events_task.apply(args=args).get())
