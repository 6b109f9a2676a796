"""The charger page in a real browser (issue 19): Playwright drives Debian's chromium against
`manage.py serve` (as the dashboard's browser test does); a real OCPP 1.6 charger is connected,
the operator sees the session's energy grow, unlocks a connector and stops the session from its
card, and each outcome appears where they clicked, without a reload.

Skipped when chromium or Playwright is missing, unless CSMS_REQUIRE_BROWSER=1."""

import asyncio
import datetime as dt

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from playwright.async_api import async_playwright, expect

from common.live_server import live_server
from common.tests.browser import launch, require_browser
from ocpp_gateway.tests.live_chargers import booted

CHARGER = "DEMO-CP-002"

require_browser()


class Station(ChargePoint):
    """Unlocks when asked; accepts a remote stop and then ends the session."""

    @on("UnlockConnector")
    async def on_unlock(self, connector_id: int, **_):
        return call_result.UnlockConnector(status="Unlocked")

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int, **_):
        return call_result.RemoteStopTransaction(status="Accepted")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


async def operator_works_a_charger(server) -> None:
    base = server.base_url
    async with booted(server, CHARGER, Station) as station, async_playwright() as playwright:
        await station.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
        started = await station.call(
            call.StartTransaction(connector_id=1, id_tag="DEMO-TAG-001", meter_start=1000, timestamp=_now())
        )
        await station.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[{"timestamp": _now(), "sampledValue": [{"value": "3500", "unit": "Wh"}]}],
            )
        )
        browser = await launch(playwright)
        try:
            page = await browser.new_page()
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.goto(f"{base}/admin/login/?next=/admin/")
            await page.fill("input[name=username]", "admin@example.com")
            await page.fill("input[name=password]", server.admin_password())
            await page.click("[type=submit]")
            await page.wait_for_url(f"{base}/admin/")
            await page.goto(f"{base}/admin/sites/charger/?q={CHARGER}")
            await page.click(f"text={CHARGER}")
            await expect(page.locator('[data-console="online-state"]')).to_have_text("Online")

            card = page.locator("[data-connector]").first
            await expect(card.locator('[data-console="energy"]')).to_have_text("2.500 kWh")
            await station.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=started.transaction_id,
                    meter_value=[{"timestamp": _now(), "sampledValue": [{"value": "4750", "unit": "Wh"}]}],
                )
            )
            await expect(card.locator('[data-console="energy"]')).to_have_text("3.750 kWh", timeout=15_000)
            url = page.url
            await card.locator('[data-operation="unlock"]').click()
            await expect(card.locator('[data-console="outcome-sentence"]')).to_have_text("Unlocked", timeout=15_000)
            await expect(card.locator("text=Raw frames")).to_be_visible()

            await card.locator("input[name=reason]").fill("driver called: cable stuck")
            await card.locator('[data-operation="stop"]').click()
            await expect(card.locator('[data-console="outcome-sentence"]')).to_have_text(
                "Stop accepted: the charger ends the session", timeout=15_000
            )
            assert page.url == url  # no reload, no navigation
        finally:
            await browser.close()


def test_an_operator_unlocks_and_stops_from_the_charger_page(tmp_path):
    with live_server(tmp_path) as server:
        asyncio.run(operator_works_a_charger(server))
