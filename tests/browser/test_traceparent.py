"""The per-webhook `sendTraceparent` opt-in in a real browser: ticked in the modal, shown on
the card, stored by the API; unticked on edit, gone from both."""

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Dashboard
from tests.conftest import DB_KINDS
from tests.support.factories import Tenant
from tests.support.receiver import Receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """The webhook routes run on both databases."""
    kind: str = request.param
    return kind


async def send_traceparent(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> object:
    response = await http.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["sendTraceparent"]


async def test_tick_then_untick_send_traceparent(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    page = dash.page
    await dash.open(tenant)
    await page.get_by_test_id("add-webhook").click()
    box = page.get_by_test_id("webhook-traceparent-input")
    await expect(box).not_to_be_checked()
    await expect(page.get_by_test_id("webhook-traceparent-hint")).to_contain_text("tracing on")
    await page.get_by_test_id("webhook-name-input").fill("Traced")
    await page.get_by_test_id("webhook-url-input").fill(sink.url("/traced"))
    await page.get_by_test_id(f"webhook-event-{APP}").check()
    await page.get_by_label("Send traceparent header").check()
    await dash.shot("modal")
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("webhook-modal")).to_have_count(0)

    card = page.get_by_test_id("webhook-card")
    badge = card.get_by_test_id("webhook-traceparent")
    await expect(badge).to_have_text("traceparent")
    webhook_id = await card.get_attribute("data-webhook-id")
    assert webhook_id is not None
    assert await send_traceparent(http, tenant, webhook_id) is True
    await dash.shot()

    # An edit that leaves the box alone keeps it on.
    await page.get_by_role("button", name="Edit webhook Traced").click()
    await expect(box).to_be_checked()
    await page.get_by_test_id("webhook-name-input").fill("Traced still")
    await page.get_by_test_id("webhook-submit").click()
    await expect(card.get_by_test_id("webhook-name")).to_have_text("Traced still")
    await expect(badge).to_be_visible()
    assert await send_traceparent(http, tenant, webhook_id) is True

    await page.get_by_role("button", name="Edit webhook Traced still").click()
    await expect(box).to_be_checked()
    await box.uncheck()
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("webhook-modal")).to_have_count(0)
    await expect(badge).to_have_count(0)
    assert await send_traceparent(http, tenant, webhook_id) is False

    await page.get_by_role("button", name="Edit webhook Traced still").click()
    await expect(box).not_to_be_checked()
