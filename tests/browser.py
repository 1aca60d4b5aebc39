"""Debian's headless Chromium through Playwright, for the tests that render pages.

`make test` installs Chromium first (scripts/setup_browser.sh); a missing browser or
checker fails the test with what to do, never skips it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "web" / "vendor" / "axe.min.js"


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run scripts/setup_browser.sh (or set CHROMIUM)."
        )
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/vendor_js.sh.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
