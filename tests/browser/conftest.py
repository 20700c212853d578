"""Headless Chromium against the production app (API + Socket.IO + built dashboard).

One server (SQLite, dispatcher on, loopback targets allowed) and one browser per test
module; a fresh browser context per test, so nothing leaks between tests but the
database, and every test makes its own reseller. Debian's /usr/bin/chromium is driven
by Playwright; `playwright install` is never needed. Without Chromium the tests skip,
unless HOOKLINE_TEST_REQUIRE_BROWSER is set (CI), where they fail instead.
"""

import itertools
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import _require_kind, make_settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import Tenant, new_tenant, new_webhook
from tests.support.receiver import Receiver, http_receiver
from tests.support.server import REPO_ROOT, RunningServer, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DIST_INDEX = REPO_ROOT / "app" / "static" / "index.html"
# Where issue 6 asks for them (ignored by git), whatever the tests folder is called.
ARTIFACTS = Path(__file__).resolve().parents[1] / "e2e" / "artifacts"
KEY_STORAGE = "hookline.apiKey"

expect.set_options(timeout=5_000)
_tenant_numbers = itertools.count(1)


def _require_prerequisites() -> None:
    if not DIST_INDEX.is_file():
        pytest.fail(
            f"The dashboard is not built ({DIST_INDEX} is missing): "
            "run `make frontend` (or `cd frontend && npm ci && npm run build`) first"
        )
    if not CHROMIUM.is_file():
        if os.environ.get("HOOKLINE_TEST_REQUIRE_BROWSER"):
            pytest.fail(
                f"Chromium is required (HOOKLINE_TEST_REQUIRE_BROWSER) but {CHROMIUM} is missing"
            )
        pytest.skip(f"{CHROMIUM} is missing (make browser-deps installs it)")


@pytest.fixture(scope="module")
def browser_db() -> str:
    """The server's database kind; a module overrides it (params=DB_KINDS) to run on both."""
    return "sqlite"


@pytest.fixture(scope="module")
def server_overrides() -> dict[str, Any]:
    """Settings a module changes for its server (e.g. a retry schedule that ends quickly)."""
    return {}


@pytest_asyncio.fixture(scope="module")
async def server(
    databases: DatabaseFactory, browser_db: str, pg_ready: bool, server_overrides: dict[str, Any]
) -> AsyncIterator[RunningServer]:
    _require_prerequisites()
    await _require_kind(browser_db, pg_ready)
    values: dict[str, Any] = {
        "dispatcher": "on",
        "allow_private_targets": True,
        # One retry, an hour away: a failed first attempt waits for the Retry button.
        "retry_schedule": (3600,),
        "retry_jitter": 0,
        "delivery_timeout_seconds": 5,
    }
    settings = make_settings(await databases.fresh(browser_db), **(values | server_overrides))
    async with serve(settings) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


@pytest_asyncio.fixture(scope="module")
async def browser(server: RunningServer) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(scope="module")
async def sink() -> AsyncIterator[Receiver]:
    """A loopback endpoint that accepts everything: webhooks of tests about the dashboard."""
    async with http_receiver() as receiver:
        yield receiver


@dataclass
class Dashboard:
    """One test's page plus what it needs to drive and check it."""

    page: Page
    url: str
    name: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, tenant: Tenant, route: str = "#/webhooks") -> None:
        """Signed in as `tenant` (key put in sessionStorage before the app boots)."""
        key = json.dumps(tenant.api_key)
        await self.page.add_init_script(f"sessionStorage.setItem({json.dumps(KEY_STORAGE)}, {key})")
        await self.page.goto(f"{self.url}/{route}")
        await expect(self.page.get_by_test_id("reseller-name")).to_have_text(tenant.name)

    async def open_feed(self, tenant: Tenant) -> None:
        """The webhooks page with the live feed connected and showing its tabs."""
        await self.open(tenant)
        await expect(self.page.get_by_test_id("connection-badge")).to_have_attribute(
            "data-state", "connected"
        )
        await expect(self.page.get_by_test_id("feed")).to_be_visible()

    async def shot(self, suffix: str = "", *, full_page: bool = True) -> None:
        """Saved under tests/e2e/artifacts; `full_page=False`: the window as the user sees it
        (fixed elements such as the toasts where they really are)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = f"{self.name}{'-' + suffix if suffix else ''}.png"
        await self.page.screenshot(
            path=str(ARTIFACTS / name), full_page=full_page, animations="disabled"
        )


@pytest_asyncio.fixture
async def dash(
    browser: Browser, server: RunningServer, request: pytest.FixtureRequest
) -> AsyncIterator[Dashboard]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    board = Dashboard(page, server.url, request.node.name)

    async def on_dialog(dialog: Any) -> None:
        board.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: board.errors.append(str(error)))
    try:
        yield board
    finally:
        await context.close()
    assert board.errors == [], f"uncaught errors in the page: {board.errors}"


@pytest_asyncio.fixture
async def tenant(http: httpx.AsyncClient) -> Tenant:
    """A reseller of its own per test, with one organisation and its ingest key."""
    return await new_tenant(http, f"Reseller {next(_tenant_numbers)}")


async def webhook_for(
    http: httpx.AsyncClient, tenant: Tenant, url: str, *events: str, name: str = "Main endpoint"
) -> dict[str, Any]:
    return await new_webhook(http, tenant, url=url, events=events, name=name)
