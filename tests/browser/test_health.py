"""Endpoint health in a real browser, drawn from real attempts: a loopback receiver answers
some deliveries 200 and others 500, and the card's success rate, the delivery log's chart
(every window) and the endpoint's state must match what was sent."""

import asyncio
import json
import re

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.conftest import DB_KINDS
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Received, Reply, http_receiver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """Both databases: the stats buckets and percentiles are written per dialect."""
    return str(request.param)


APP = "desktop.app_tracking.captured"


async def recorded(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str, n: int) -> None:
    """Waits (bounded) until `n` deliveries have their first attempt written down."""
    async with asyncio.timeout(15):
        while True:
            response = await http.get(
                "/v1/deliveries", params={"webhookId": webhook_id}, headers=tenant.headers
            )
            data = response.json()["data"]
            if len(data) == n and all(d["attemptCount"] == 1 for d in data):
                return
            await asyncio.sleep(0.05)


async def bar_sums(page: Page) -> tuple[int, int, int]:
    """(bars, attempts, failures) of the chart as drawn."""
    bars = page.get_by_test_id("chart-bar")
    attempts = failures = 0
    for bar in await bars.all():
        attempts += int(await bar.get_attribute("data-attempts") or 0)
        failures += int(await bar.get_attribute("data-failures") or 0)
    return await bars.count(), attempts, failures


async def drawn_heights(bar: Locator) -> tuple[float, float]:
    ok = bar.locator(".chart-ok")
    fail = bar.locator(".chart-fail")
    ok_h = float(await ok.get_attribute("height") or 0) if await ok.count() else 0.0
    fail_h = float(await fail.get_attribute("height") or 0) if await fail.count() else 0.0
    return ok_h, fail_h


async def test_health_chart_and_card_drawn_from_real_attempts(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    def endpoint(request: Received) -> Reply:
        user = json.loads(request.body)["userId"]
        return Reply(500, "nope") if user.startswith("bad") else Reply(200, "ok")

    async with http_receiver(endpoint) as receiver:
        webhook = await webhook_for(http, tenant, receiver.url(), APP, name="Half healthy")
        for n in range(4):
            await ingest(http, tenant, app_event(user_id=f"good_{n}"))
        await recorded(http, tenant, webhook["id"], 4)
        # The failures last, so the endpoint is failing right now, two in a row.
        for n in range(2):
            await ingest(http, tenant, app_event(user_id=f"bad_{n}"))
        await recorded(http, tenant, webhook["id"], 6)
        assert len(receiver.requests) == 6

        page = dash.page
        await dash.open(tenant)
        card = page.get_by_test_id("webhook-card")
        await expect(card.get_by_test_id("webhook-health")).to_have_attribute("data-attempts", "6")
        await expect(card.get_by_test_id("webhook-success-rate")).to_have_text("66.7% success")
        await expect(card.get_by_test_id("webhook-attempts-24h")).to_contain_text("6 attempts")
        # The sparkline: one point per hour with an answered attempt (one, or two across an hour).
        stats = await http.get(f"/v1/webhooks/{webhook['id']}/stats", headers=tenant.headers)
        hours = [b for b in stats.json()["series"] if b["latencyMs"] is not None]
        assert 1 <= len(hours) <= 2
        await expect(card.get_by_test_id("latency-sparkline")).to_have_attribute(
            "data-points", str(len(hours))
        )
        await dash.shot("card")

        await card.get_by_test_id("delivery-log-link").click()
        panel = page.get_by_test_id("health-panel")
        await expect(panel.get_by_test_id("health-body")).to_have_attribute("data-attempts", "6")
        await expect(panel.get_by_test_id("health-attempts")).to_have_text("6")
        await expect(panel.get_by_test_id("health-success-rate")).to_have_text("66.7%")
        await expect(panel.get_by_test_id("health-failures")).to_have_text("2")
        await expect(panel.get_by_test_id("health-failure-kinds")).to_have_text(
            "Failures: 2 HTTP errors"
        )
        await expect(panel.get_by_test_id("health-p50")).to_have_text(re.compile(r"^\d+ ms$"))
        state = page.get_by_test_id("endpoint-state")
        await expect(state).to_have_attribute("data-state", "failing")
        await expect(state.get_by_test_id("endpoint-state-detail")).to_contain_text(
            "2 consecutive failures"
        )

        # Every bucket of the window is drawn; together they hold exactly the attempts sent.
        assert await bar_sums(page) == (24, 6, 2)
        busy = page.locator('[data-testid="chart-bar"]:not([data-attempts="0"])')
        for bar in await busy.all():
            ok_h, fail_h = await drawn_heights(bar)
            attempts = int(await bar.get_attribute("data-attempts") or 0)
            failures = int(await bar.get_attribute("data-failures") or 0)
            assert ok_h + fail_h > 0 and (fail_h > 0) == (failures > 0), (attempts, ok_h, fail_h)
        await dash.shot("24h")

        for window, buckets in (("1h", 12), ("7d", 28)):
            await panel.get_by_test_id(f"health-window-{window}").click()
            await expect(panel.get_by_test_id("health-body")).to_have_attribute(
                "data-window", window
            )
            await expect(page.get_by_test_id("chart-bar")).to_have_count(buckets)
            assert await bar_sums(page) == (buckets, 6, 2)
        await dash.shot("7d")


async def test_health_of_a_webhook_without_attempts_says_so(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: object
) -> None:
    webhook = await webhook_for(http, tenant, "http://127.0.0.1:9/never", APP, name="Quiet")
    page = dash.page
    await dash.open(tenant)
    card = page.get_by_test_id("webhook-card")
    await expect(card.get_by_test_id("webhook-success-rate")).to_have_text("No attempts in 24 h")
    await expect(card.get_by_test_id("latency-sparkline")).to_have_count(0)
    await dash.open(tenant, f"#/deliveries/{webhook['id']}")
    await expect(page.get_by_test_id("health-empty")).to_have_text(
        "No attempts in the last 24 hours."
    )
    await expect(page.get_by_test_id("health-success-rate")).to_have_text("—")
    assert await bar_sums(page) == (24, 0, 0)
    await expect(page.get_by_test_id("endpoint-state")).to_have_attribute("data-state", "healthy")
