"""Recover from the delivery log after an outage, in a real browser, on both databases: a
real receiver on 127.0.0.1 fails every delivery until they are `failed`, is fixed, and the
"Recover…" form sends them again; they arrive, signed, and the log shows them succeed."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.conftest import DB_KINDS
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Received, Reply, http_receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"
ACTIVITY = "desktop.activity_tracking.captured"


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server_overrides() -> dict[str, Any]:
    # One retry a second later: a delivery to a broken endpoint is `failed` within seconds.
    return {"retry_schedule": (1,)}


async def deliveries(
    http: httpx.AsyncClient, tenant: Tenant, webhook_id: str, **query: str
) -> list[dict[str, Any]]:
    response = await http.get(
        "/v1/deliveries", params={"webhookId": webhook_id, **query}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def attributes(locator: Locator, name: str) -> list[str]:
    return [str(await el.get_attribute(name)) for el in await locator.all()]


def header(received: Received, name: str) -> str:
    return {k.lower(): v for k, v in received.headers.items()}[name]


async def until_failed(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str, n: int) -> None:
    async with asyncio.timeout(20):
        while len(await deliveries(http, tenant, webhook_id, status="failed")) < n:
            await asyncio.sleep(0.1)


async def test_recover_from_the_delivery_log_after_the_receiver_is_fixed(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    broken = True

    def endpoint(_: Received) -> Reply:
        return Reply(503, "down for maintenance") if broken else Reply(200, "back")

    async with http_receiver(endpoint) as receiver:
        webhook = await webhook_for(
            http, tenant, receiver.url("/hook"), APP, ACTIVITY, name="Outage endpoint"
        )
        events = [await ingest(http, tenant, app_event(user_id=f"user_{n}")) for n in range(3)]
        await until_failed(http, tenant, webhook["id"], 3)
        assert len(receiver.requests) == 6  # each: the first attempt and its one retry
        broken = False

        page = dash.page
        await dash.open(tenant, f"#/deliveries/{webhook['id']}")
        rows = page.get_by_test_id("delivery-row")
        await expect(rows).to_have_count(3)
        for row in await rows.all():
            await expect(row).to_have_attribute("data-status", "failed")
        assert sorted(await attributes(rows, "data-event-id")) == sorted(events)
        # The attempt log: status, error excerpt and the request headers as sent, no secret.
        first = rows.first
        await first.get_by_test_id("delivery-toggle").click()
        attempts = first.get_by_test_id("attempt-row")
        await expect(attempts).to_have_count(2)
        await expect(attempts.get_by_test_id("attempt-status")).to_have_text(["503", "503"])
        await expect(attempts.first.get_by_test_id("attempt-response")).to_have_text(
            "down for maintenance"
        )
        await attempts.first.get_by_test_id("attempt-headers").locator("summary").click()
        headers = attempts.first.get_by_test_id("attempt-header")
        names = [await h.get_attribute("data-name") for h in await headers.all()]
        assert {"x-webhook-signature", "x-webhook-timestamp", "x-webhook-id"} <= set(names)
        signature = attempts.first.locator(
            '[data-testid="attempt-header"][data-name="x-webhook-signature"]'
        ).get_by_test_id("attempt-header-value")
        sent = {header(r, "x-webhook-signature") for r in receiver.requests}
        assert await signature.inner_text() in sent
        assert webhook["secret"] not in await page.content()
        # The health panel counted the outage from the attempt log.
        await expect(page.get_by_test_id("health-attempts")).to_have_text("6")
        await expect(page.get_by_test_id("health-failures")).to_have_text("6")
        await expect(page.get_by_test_id("health-failure-kinds")).to_have_text(
            "Failures: 6 HTTP errors"
        )
        await dash.shot("outage")

        await page.get_by_test_id("recover-open").click()
        modal = page.get_by_test_id("recover-modal")
        await expect(modal).to_be_visible()
        await expect(modal.get_by_test_id("recover-status-failed")).to_be_checked()
        await expect(modal.get_by_test_id("recover-status-cancelled")).to_be_checked()
        await expect(modal.get_by_test_id("recover-since")).not_to_have_value("")
        await modal.get_by_test_id(f"recover-event-{APP}").check()
        await dash.shot("form")
        await modal.get_by_test_id("recover-submit").click()
        await expect(modal).to_be_hidden()

        progress = page.get_by_test_id("recovery-progress")
        await expect(progress).to_have_attribute("data-state", "done")
        await expect(progress).to_have_attribute("data-matched", "3")
        await expect(progress).to_have_attribute("data-queued", "3")
        await expect(progress.get_by_test_id("recovery-summary")).to_have_text(
            "Done: 3 of 3 matching deliveries queued again."
        )

        # They arrive again, signed, once each, and the log follows them to "succeeded".
        recovered = (await receiver.wait_for(9))[6:]
        assert sorted(header(r, "x-webhook-id") for r in recovered) == sorted(
            await attributes(rows, "data-delivery-id")
        )
        assert all(r.signature_ok(webhook["secret"]) for r in recovered)
        for row in await rows.all():
            await expect(row).to_have_attribute("data-status", "succeeded", timeout=10_000)
            await expect(row.get_by_test_id("delivery-attempts")).to_have_text("3 attempts")
            await expect(row.get_by_test_id("delivery-last-status")).to_have_text("HTTP 200")
        await dash.shot()

        # The same recovery again matches nothing: nothing is queued twice.
        await page.get_by_test_id("recover-open").click()
        await page.get_by_test_id("recover-submit").click()
        again = page.get_by_test_id("recovery-progress").first
        await expect(again.get_by_test_id("recovery-summary")).to_have_text(
            "No delivery matched: nothing to send again."
        )
        await expect(again).to_have_attribute("data-queued", "0")
        assert len(receiver.requests) == 9
        api = await deliveries(http, tenant, webhook["id"])
        assert [(d["status"], d["attemptCount"]) for d in api] == [("succeeded", 3)] * 3


async def test_recover_refuses_a_disabled_webhook_and_says_why(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Any
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP)
    response = await http.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    page = dash.page
    await dash.open(tenant, f"#/deliveries/{webhook['id']}")
    await expect(page.get_by_test_id("webhook-disabled")).to_be_visible()
    await page.get_by_test_id("recover-open").click()
    await page.get_by_test_id("recover-submit").click()
    error = page.get_by_test_id("recover-form-error")
    await expect(error).to_have_text(re.compile("re-enable it", re.IGNORECASE))
    await expect(page.get_by_test_id("recover-modal")).to_be_visible()
    await dash.shot()
