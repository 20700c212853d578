"""The Webhooks page in a real browser: sign-in, create, edit, copy, delete, disable, XSS."""

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import KEY_STORAGE, Dashboard, webhook_for
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event, new_tenant
from tests.support.receiver import Receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"
SCREENSHOT = "desktop.screenshot_tracking.captured"
ACTIVITY = "desktop.activity_tracking.captured"
XSS = "<img src=x onerror=alert(1)>"


async def test_sign_in_refuses_a_wrong_key_then_accepts_the_right_one(
    dash: Dashboard, tenant: Tenant
) -> None:
    page = dash.page
    await page.goto(dash.url)
    await expect(page.get_by_test_id("signin-form")).to_be_visible()
    await expect(page.get_by_label("Reseller API key")).to_be_focused()

    await page.get_by_test_id("signin-key").fill("hk_not_a_real_key")
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signin-error")).to_have_text("That API key was not accepted.")
    assert await page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None

    await page.get_by_test_id("signin-key").fill(tenant.api_key)
    await page.get_by_test_id("signin-key").press("Enter")
    await expect(page.get_by_test_id("reseller-name")).to_have_text(tenant.name)
    await expect(page.get_by_test_id("webhooks-empty")).to_be_visible()
    await expect(page.get_by_test_id("nav-webhooks")).to_have_attribute("aria-current", "page")
    assert await page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") == tenant.api_key
    await dash.shot()

    # A reload keeps the session; signing out forgets the key.
    await page.reload()
    await expect(page.get_by_test_id("reseller-name")).to_have_text(tenant.name)
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("signin-form")).to_be_visible()
    assert await page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None


async def test_create_shows_field_errors_then_creates(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    page = dash.page
    await dash.open(tenant)
    await page.get_by_test_id("add-webhook").click()
    modal = page.get_by_test_id("webhook-modal")
    await expect(modal).to_be_visible()
    await expect(modal.get_by_role("heading")).to_have_text("Add Webhook")
    await expect(page.get_by_test_id("webhook-name-input")).to_be_focused()

    # No name, no events: the API's messages land under those fields, nothing is created.
    await page.get_by_test_id("webhook-url-input").fill("not a url")
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("field-error-name")).not_to_be_empty()
    await expect(page.get_by_test_id("field-error-events")).to_have_text(
        "Choose at least one event type"
    )
    await expect(page.get_by_test_id("webhook-name-input")).to_have_attribute(
        "aria-invalid", "true"
    )
    await expect(page.get_by_test_id("webhook-name-input")).to_be_focused()
    await dash.shot("errors")

    # Name and events fixed, the URL is still wrong: only its message is left.
    await page.get_by_label("Webhook Name").fill("Orders endpoint")
    await page.get_by_test_id(f"webhook-event-{APP}").check()
    await page.get_by_test_id(f"webhook-event-{ACTIVITY}").check()
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("field-error-url")).not_to_be_empty()
    await expect(page.get_by_test_id("field-error-name")).to_be_empty()
    await expect(page.get_by_test_id("field-error-events")).to_be_empty()
    listed = await http.get("/v1/webhooks", headers=tenant.headers)
    assert listed.json()["data"] == []

    await page.get_by_label("Webhook URL").fill(f"{sink.base_url}/orders")
    await page.get_by_test_id("webhook-submit").click()
    await expect(modal).to_have_count(0)
    await expect(page.get_by_test_id("notice").filter(has_text="Webhook created")).to_be_visible()

    card = page.get_by_test_id("webhook-card")
    await expect(card).to_have_count(1)
    await expect(card.get_by_test_id("webhook-name")).to_have_text("Orders endpoint")
    await expect(card.get_by_test_id("webhook-url")).to_have_text(f"{sink.base_url}/orders")
    await expect(card.get_by_test_id("event-badge")).to_have_text(
        ["Tracking Event", "Activity Event"]
    )
    await expect(card.get_by_test_id("webhook-status")).to_have_text("Active")
    await dash.shot()

    [created] = (await http.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
    assert created["name"] == "Orders endpoint"
    assert sorted(created["events"]) == sorted([APP, ACTIVITY])
    await expect(card).to_have_attribute("data-webhook-id", created["id"])
    await expect(card.get_by_test_id("webhook-secret")).to_have_text(created["secretMasked"])
    await expect(card.get_by_test_id("webhook-created")).to_have_attribute(
        "datetime", created["createdAt"]
    )


async def test_edit_updates_the_card_and_the_api(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP, name="Before")
    page = dash.page
    await dash.open(tenant)
    await page.get_by_role("button", name="Edit webhook Before").click()
    modal = page.get_by_test_id("webhook-modal")
    await expect(modal.get_by_role("heading")).to_have_text("Edit Webhook")
    await expect(page.get_by_test_id("webhook-name-input")).to_have_value("Before")
    await expect(page.get_by_test_id(f"webhook-event-{APP}")).to_be_checked()
    await expect(page.get_by_test_id(f"webhook-event-{SCREENSHOT}")).not_to_be_checked()

    await page.get_by_test_id("webhook-name-input").fill("After")
    await page.get_by_test_id("webhook-url-input").fill(f"{sink.base_url}/v2")
    await page.get_by_test_id(f"webhook-event-{SCREENSHOT}").check()
    await page.get_by_test_id(f"webhook-event-{APP}").uncheck()
    await expect(page.get_by_test_id("webhook-submit")).to_have_text("Update Webhook")
    await page.get_by_test_id("webhook-submit").click()
    await expect(modal).to_have_count(0)

    card = page.get_by_test_id("webhook-card")
    await expect(card.get_by_test_id("webhook-name")).to_have_text("After")
    await expect(card.get_by_test_id("webhook-url")).to_have_text(f"{sink.base_url}/v2")
    await expect(card.get_by_test_id("event-badge")).to_have_text(["Screenshot Event"])
    await dash.shot()
    stored = (await http.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert (stored["name"], stored["url"], stored["events"]) == (
        "After",
        f"{sink.base_url}/v2",
        [SCREENSHOT],
    )


async def test_delivery_limits_are_set_shown_and_removed(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP, name="Limited")
    page = dash.page
    await dash.open(tenant)
    card = page.get_by_test_id("webhook-card")
    await expect(card.get_by_test_id("webhook-limits")).to_have_count(0)

    await page.get_by_role("button", name="Edit webhook Limited").click()
    await expect(page.get_by_test_id("webhook-maxInFlight-input")).to_have_value("")
    await page.get_by_test_id("webhook-maxInFlight-input").fill("0")
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("field-error-maxInFlight")).not_to_be_empty()

    await page.get_by_test_id("webhook-maxInFlight-input").fill("4")
    await page.get_by_test_id("webhook-ratePerSecond-input").fill("2.5")
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_test_id("webhook-modal")).to_have_count(0)
    limits = card.get_by_test_id("webhook-limits")
    await expect(limits).to_have_text("Limits: ≤ 4 at once · ≤ 2.5/s")
    await dash.shot()
    stored = (await http.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert (stored["maxInFlight"], stored["ratePerSecond"]) == (4, 2.5)

    await page.get_by_role("button", name="Edit webhook Limited").click()
    await expect(page.get_by_test_id("webhook-ratePerSecond-input")).to_have_value("2.5")
    await page.get_by_test_id("webhook-maxInFlight-input").fill("")
    await page.get_by_test_id("webhook-ratePerSecond-input").fill("")
    await page.get_by_test_id("webhook-submit").click()
    await expect(card.get_by_test_id("webhook-limits")).to_have_count(0)
    stored = (await http.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert (stored["maxInFlight"], stored["ratePerSecond"]) == (None, None)


async def test_copy_secret_puts_the_full_secret_on_the_clipboard(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP)
    secret = (
        await http.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
    ).json()["secret"]
    page = dash.page
    await dash.open(tenant)
    masked = page.get_by_test_id("webhook-secret")
    await expect(masked).to_have_text(secret[:8] + "•" * 24)

    await page.get_by_test_id("copy-secret").click()
    await expect(page.get_by_test_id("copy-secret")).to_have_attribute("data-copied", "true")
    await expect(
        page.get_by_test_id("notice").filter(has_text="Copied to clipboard")
    ).to_be_visible()
    await dash.shot()
    assert await page.evaluate("navigator.clipboard.readText()") == secret


async def test_delete_asks_for_confirmation(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP, name="Doomed")
    page = dash.page
    await dash.open(tenant)
    card = page.get_by_test_id("webhook-card")
    await expect(card).to_have_count(1)

    # Cancel keeps it.
    await page.get_by_role("button", name="Delete webhook Doomed").click()
    confirm = page.get_by_test_id("delete-modal")
    await expect(confirm).to_contain_text("Doomed")
    await expect(page.get_by_test_id("delete-cancel")).to_be_focused()
    await page.get_by_test_id("delete-cancel").click()
    await expect(confirm).to_have_count(0)
    await expect(card).to_have_count(1)

    await page.get_by_role("button", name="Delete webhook Doomed").click()
    await dash.shot("confirm")
    await page.get_by_test_id("confirm-delete").click()
    await expect(card).to_have_count(0)
    await expect(page.get_by_test_id("webhooks-empty")).to_be_visible()
    await dash.shot()
    gone = await http.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)
    assert gone.status_code == 404


async def test_disabled_webhook_shows_why_and_can_be_re_enabled(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    webhook = await webhook_for(http, tenant, sink.base_url, APP, name="Paused endpoint")
    response = await http.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    page = dash.page
    await dash.open(tenant)
    card = page.get_by_test_id("webhook-card")
    await expect(card).to_have_attribute("data-enabled", "false")
    await expect(card.get_by_test_id("webhook-status")).to_have_text("Disabled")
    await expect(card.get_by_test_id("webhook-disabled-reason")).to_have_text(
        response.json()["disabledReason"]
    )
    await dash.shot("disabled")

    await card.get_by_test_id("reenable-button").click()
    await expect(card).to_have_attribute("data-enabled", "true")
    await expect(card.get_by_test_id("webhook-status")).to_have_text("Active")
    await expect(card.get_by_test_id("webhook-disabled")).to_have_count(0)
    await dash.shot()
    stored = (await http.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert stored["enabled"] is True
    assert stored["disabledReason"] is None


async def test_markup_in_user_strings_renders_as_text(
    dash: Dashboard, http: httpx.AsyncClient, sink: Receiver
) -> None:
    # The reseller, its organisation and the webhook are all named with markup.
    tenant = await new_tenant(http, XSS)
    await webhook_for(http, tenant, sink.base_url, APP, name=XSS)
    page = dash.page
    await dash.open_feed(tenant)
    card = page.get_by_test_id("webhook-card")
    await expect(card.get_by_test_id("webhook-name")).to_have_text(XSS)
    await expect(page.get_by_role("button", name=f"Edit webhook {XSS}")).to_be_visible()

    event_id = await ingest(http, tenant, app_event())
    event = page.locator(f'[data-testid="event-card"][data-event-id="{event_id}"]')
    await expect(event.get_by_test_id("event-parent-org")).to_have_text(XSS)
    await expect(event.get_by_test_id("event-org")).to_have_text(f"{XSS} Org")
    await expect(page.get_by_test_id("pool-org")).to_have_text(f"{XSS} Org")
    # A long name is cut short in the pool; it does not push the badge out of the panel.
    entry = page.get_by_test_id("pool-entry")
    await entry.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")  # slide-in
    badge = await entry.get_by_test_id("new-badge").bounding_box()
    panel = await page.get_by_test_id("pool-list").bounding_box()
    assert badge is not None
    assert panel is not None
    assert badge["x"] + badge["width"] <= panel["x"] + panel["width"]

    await page.get_by_test_id("delete-webhook").click()
    await expect(page.get_by_test_id("delete-modal").locator("strong")).to_have_text(XSS)
    await dash.shot()

    assert await page.locator("img").count() == 0
    assert dash.dialogs == []
