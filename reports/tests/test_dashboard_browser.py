"""The dashboard in a real browser: Playwright drives Debian's chromium against `manage.py
serve`, an operator signs in through the admin's login form, and a real OCPP-J charger's
StatusNotification and session change the page without a reload.

Skipped when chromium or Playwright is missing, unless CSMS_REQUIRE_BROWSER=1 (CI sets it
after installing chromium), so a missing browser can never pass silently in CI."""

import asyncio
import datetime as dt

from playwright.async_api import async_playwright, expect

from common.live_server import live_server
from common.tests.browser import launch, require_browser
from ocpp_gateway.tests.live_chargers import call, connect

CHARGER = "DEMO-CP-001"

require_browser()


async def operator_watches_a_charger(server) -> None:
    password = server.admin_password()
    base = server.base_url
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/admin/login/?next=/admin/")
            await page.fill("input[name=username]", "admin@example.com")
            await page.fill("input[name=password]", password)
            await page.click("[type=submit]")
            await page.wait_for_url(f"{base}/admin/")

            live = page.locator("#dash-live-state")
            await expect(live).to_have_attribute("data-state", "live", timeout=10_000)
            # The map has a marker per site, and both charts drew on their canvases.
            await expect(page.locator("#dash-map path.leaflet-interactive")).to_have_count(1)
            assert await page.evaluate("Chart.getChart('chart-status') !== undefined")
            assert await page.evaluate("Chart.getChart('chart-daily') !== undefined")
            sessions_before = int(await page.locator("#today-sessions").text_content())
            online_before = int(await page.locator("#count-online").text_content())

            async with connect(server, CHARGER) as charger:
                await expect(page.locator("#count-online")).to_have_text(str(online_before + 1), timeout=10_000)
                boot = await call(charger, "1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                assert boot[2]["status"] == "Accepted"
                status = {"connectorId": 1, "status": "Preparing", "errorCode": "NoError"}
                assert (await call(charger, "2", "StatusNotification", status))[0] == 3

                row = page.locator(f'tr[data-connector="{CHARGER}/1"] .dash-status')
                await expect(row).to_have_text("Preparing", timeout=10_000)
                now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
                start = {"connectorId": 1, "idTag": "DEMO-TAG-001", "meterStart": 0, "timestamp": now}
                assert (await call(charger, "3", "StartTransaction", start))[0] == 3
                await expect(page.locator("#today-sessions")).not_to_have_text(str(sessions_before), timeout=10_000)
                charging = {"connectorId": 1, "status": "Charging", "errorCode": "NoError"}
                await call(charger, "4", "StatusNotification", charging)
                await expect(row).to_have_text("Charging", timeout=10_000)
                await expect(page.locator("#dash-map path.leaflet-interactive")).to_have_attribute(
                    "fill", "#2563eb", timeout=10_000
                )
            assert "reconnecting" not in await live.text_content()
        finally:
            await browser.close()


def test_the_dashboard_follows_a_charger_live(tmp_path):
    with live_server(tmp_path) as server:
        asyncio.run(operator_watches_a_charger(server))
