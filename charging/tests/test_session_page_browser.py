"""The session page in a real browser (Playwright, Debian's chromium): the energy and power
chart is drawn from the embedded data, and an operator stops the charge from the page's Stop
button through its confirmation.

Skipped when chromium or Playwright is missing, unless CSMS_REQUIRE_BROWSER=1 (as the
dashboard's browser test)."""

import datetime as dt
import os
import shutil

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, UserFactory
from charging.tests.factories import ChargingSessionFactory, MeterValueFactory
from sites.models import Command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PASSWORD = "correct horse battery staple"

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev requirements install it
    sync_playwright = None

if sync_playwright is None or not os.path.exists(CHROMIUM):
    if os.environ.get("CSMS_REQUIRE_BROWSER") == "1":
        raise RuntimeError("CSMS_REQUIRE_BROWSER=1 but Playwright or /usr/bin/chromium is missing")
    pytest.skip("Playwright and chromium are needed for the browser test", allow_module_level=True)


@pytest.mark.django_db(transaction=True)
def test_an_operator_sees_the_chart_and_stops_the_charge_from_the_page(live_server, monkeypatch):
    started = timezone.now() - dt.timedelta(minutes=30)
    session = ChargingSessionFactory(started_at=started, meter_start_wh=0, transaction_id=5150)
    for minute in range(30):
        at = started + dt.timedelta(minutes=minute)
        MeterValueFactory(session=session, timestamp=at, value=minute * 180, raw_value=str(minute * 180))
        MeterValueFactory(session=session, timestamp=at, measurand="Power.Active.Import", unit="W", value=11000,
                          raw_value="11000")  # fmt: skip
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=session.charger.site.organization, role="operator")
    # Playwright's sync API runs an event loop in this thread; the ORM work above is done.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("input[name=username]", user.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("[type=submit]")
            page.goto(f"{live_server.url}/admin/charging/chargingsession/{session.pk}/change/")
            expect(page.locator("#session-state")).to_have_text("Active")
            assert page.evaluate("Chart.getChart('session-chart').data.datasets[0].data.length") == 30
            assert page.evaluate("Chart.getChart('session-chart').data.datasets[1].data[0]") == 11.0
            page.get_by_role("link", name="Stop", exact=True).click()
            page.get_by_role("button", name="Yes, stop").click()
            expect(page.locator("#session-page")).to_be_visible()  # back on the session's page
            expect(page.get_by_text("Stop queued")).to_be_visible()
        finally:
            browser.close()
    command = Command.objects.get()
    assert command.intent == "remote_stop"
    assert command.fields["transaction_id"] == "5150"
