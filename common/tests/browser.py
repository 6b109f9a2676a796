"""What the browser tests share: Debian's chromium driven by Playwright, headless as root on a
closed network. Without chromium a browser test module is skipped, unless CSMS_REQUIRE_BROWSER=1
(CI installs it), where that is an error rather than a quiet skip."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags Debian's chromium needs to start headless as root on a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Call at the top of a browser test module."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CSMS_REQUIRE_BROWSER") == "1":
        raise RuntimeError("CSMS_REQUIRE_BROWSER=1 but chromium is missing")
    pytest.skip("chromium is needed for the browser tests", allow_module_level=True)


async def launch(playwright):
    """A headless chromium from an `async_playwright()` context."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
