import pytest


@pytest.fixture(autouse=True)
def _flush_by_hand(settings):
    """No background thread in these tests: it would read the database outside the test's
    transaction. The tests call publisher.flush() themselves."""
    settings.INTEGRATIONS_FLUSH_SECONDS = 0
