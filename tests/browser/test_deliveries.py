"""Simulations and the delivery log in a real browser, against loopback receivers."""

import asyncio
import json
import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Received, Reply, http_receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"
ACTIVITY = "desktop.activity_tracking.captured"


async def first_attempt_recorded(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> None:
    """The receiver has answered; wait (bounded) until the dispatcher has written it down."""
    async with asyncio.timeout(10):
        while True:
            response = await http.get(
                "/v1/deliveries", params={"webhookId": webhook_id}, headers=tenant.headers
            )
            data = response.json()["data"]
            if data and data[0]["attemptCount"] == 1:
                return
            await asyncio.sleep(0.05)


async def test_simulation_against_a_local_receiver_is_delivered(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    async with http_receiver(lambda _: Reply(200, '{"ok":true}')) as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/hook"), APP, ACTIVITY)
        page = dash.page
        await dash.open(tenant)
        await page.get_by_test_id("simulate-link").click()
        await expect(page.get_by_test_id("nav-simulations")).to_have_attribute(
            "aria-current", "page"
        )
        await expect(page.get_by_test_id("sim-webhook")).to_have_value(webhook["id"])
        await expect(page.get_by_test_id("sim-webhook").locator("option")).to_have_text(
            [f"Main endpoint — {receiver.base_url}/hook"]
        )
        # Only the webhook's subscriptions, and the preview follows the choice.
        options = page.get_by_test_id("sim-event").locator("option")
        await expect(options).to_have_count(2)
        assert [await o.get_attribute("value") for o in await options.all()] == [APP, ACTIVITY]
        preview = page.get_by_test_id("sim-preview")
        await expect(preview).to_have_attribute("aria-busy", "false")
        await expect(preview).to_contain_text(f'"event": "{APP}"')
        await page.get_by_test_id("sim-event").select_option(ACTIVITY)
        await expect(preview).to_contain_text(f'"event": "{ACTIVITY}"')
        await expect(preview).to_have_attribute("aria-busy", "false")

        await page.get_by_test_id("sim-send").click()
        result = page.get_by_test_id("sim-result")
        await expect(result).to_have_attribute("data-delivered", "true")
        await expect(result.get_by_test_id("sim-status")).to_have_text("200")
        await expect(result.get_by_test_id("sim-status")).to_have_attribute("data-ok", "true")
        await expect(result.get_by_test_id("sim-outcome")).to_have_text("Delivered")
        await expect(result.get_by_test_id("sim-latency")).to_have_text(re.compile(r"^\d+ ms$"))
        await expect(result.get_by_test_id("sim-response")).to_have_text('{"ok":true}')
        await dash.shot()

        # The signed test event comes first (then the self-check's mis-signed copy).
        received = (await receiver.wait_for(1))[0]
        assert received.path == "/hook"
        headers = {k.lower(): v for k, v in received.headers.items()}
        await expect(result.get_by_test_id("sim-header-timestamp")).to_have_text(
            headers["x-webhook-timestamp"]
        )
        await expect(result.get_by_test_id("sim-header-signature")).to_have_text(
            headers["x-webhook-signature"]
        )
        sent = json.loads(await result.get_by_test_id("sim-payload").inner_text())
        assert sent == json.loads(received.body)
        assert sent["event"] == ACTIVITY


async def test_delivery_log_shows_attempts_and_retry_delivers(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    def fail_first(_: Received) -> Reply:
        # The first call fails; every later one (the manual retry) succeeds.
        return Reply(500, "boom") if len(receiver.requests) == 1 else Reply(200, "thanks")

    async with http_receiver(fail_first) as receiver:
        webhook = await webhook_for(http, tenant, receiver.base_url, APP, name="Flaky endpoint")
        event_id = await ingest(http, tenant, app_event())
        await receiver.wait_for(1)
        await first_attempt_recorded(http, tenant, webhook["id"])
        page = dash.page
        await dash.open(tenant)
        await page.get_by_test_id("delivery-log-link").click()
        await expect(page.get_by_test_id("deliveries-webhook-name")).to_have_text("Flaky endpoint")
        row = page.get_by_test_id("delivery-row")
        await expect(row).to_have_count(1)
        await expect(row).to_have_attribute("data-status", "pending")
        await expect(row.get_by_test_id("delivery-attempts")).to_have_text("1 attempt")
        await expect(row.get_by_test_id("delivery-last-status")).to_have_text("HTTP 500")
        await expect(row.get_by_test_id("delivery-next")).to_be_visible()

        await row.get_by_test_id("delivery-toggle").click()
        await expect(row.get_by_test_id("delivery-toggle")).to_have_attribute(
            "aria-expanded", "true"
        )
        await expect(row.get_by_test_id("delivery-details")).to_contain_text(event_id)
        attempts = row.get_by_test_id("attempt-row")
        await expect(attempts).to_have_count(1)
        await expect(attempts.get_by_test_id("attempt-status")).to_have_text("500")
        await expect(attempts.get_by_test_id("attempt-latency")).to_have_text(
            re.compile(r"^\d+ ms$")
        )
        await expect(attempts.get_by_test_id("attempt-response")).to_have_text("boom")
        await dash.shot("failed")

        await row.get_by_test_id("retry-button").click()
        await expect(row).to_have_attribute("data-status", "succeeded", timeout=10_000)
        await expect(row.get_by_test_id("delivery-attempts")).to_have_text("2 attempts")
        await expect(row.get_by_test_id("delivery-last-status")).to_have_text("HTTP 200")
        await expect(attempts).to_have_count(2)
        await expect(attempts.get_by_test_id("attempt-status")).to_have_text(["500", "200"])
        await expect(attempts.nth(1).get_by_test_id("attempt-response")).to_have_text("thanks")
        await dash.shot()
        assert len(receiver.requests) == 2

        deliveries = await http.get(
            "/v1/deliveries", params={"webhookId": webhook["id"]}, headers=tenant.headers
        )
        [delivery] = deliveries.json()["data"]
        assert (delivery["status"], delivery["attemptCount"]) == ("succeeded", 2)
