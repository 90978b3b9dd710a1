"""A real browser for the page tests: Debian's Chromium, driven by Playwright.

Playwright's own browser download cannot work here, so the tests launch the system's Chromium
(`make test` installs the `chromium` and `fonts-noto-cjk` packages where missing).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Playwright,
    ViewportSize,
    async_playwright,
)

from testkit.edge import Edge, demo_admins_with_password, make_edge, serve
from testkit.harness import Harness

CHROMIUM = Path("/usr/bin/chromium")
# This machine has no network beyond the package registries: Chromium's background services
# would only fail their look-ups, many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (make browser)")
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    browser = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    await browser.close()


async def _context(browser: Browser, *, phone: bool, **options: object) -> BrowserContext:
    return await browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        **options,  # type: ignore[arg-type]  # Playwright's keyword arguments
    )


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A phone-sized browser (375×812): the applicants' main target."""
    context = await _context(browser, phone=True)
    yield context
    await context.close()


@pytest.fixture
async def desktop(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A hospital PC's browser."""
    context = await _context(browser, phone=False)
    yield context
    await context.close()


@pytest.fixture
async def live_edge(dev: Harness) -> AsyncIterator[Edge]:
    """The edge served on a free local port (`live_edge.url`), over a worker on the dev server
    and this test's own database (`live_edge.db`); the demo admins log in with
    `testkit.edge.STAFF_PASSWORD`."""
    await demo_admins_with_password(dev.app)
    edge = make_edge(dev.app, temporal=dev.env.client, harness=dev)
    async with edge.app.router.lifespan_context(edge.app), serve(edge):
        yield edge


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshot walks write: docs/screenshots/ for `make screenshots`
    (JSHR_SCREENSHOTS=1), a temporary folder otherwise, so that every `make test` walks the
    pages the README shows."""
    folder = SCREENSHOTS if os.environ.get("JSHR_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def readme_screenshots(prefix: str) -> set[str]:
    """The screenshots the README shows whose names start with `prefix`."""
    readme = (SCREENSHOTS.parents[1] / "README.md").read_text()
    return set(re.findall(rf"docs/screenshots/({re.escape(prefix)}[\w-]*\.png)", readme))
