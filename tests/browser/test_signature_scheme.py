"""Signature schemes in a real browser: chosen in the modal, shown on the card, and what a
real receiver on 127.0.0.1 then gets, verified with the `standardwebhooks` package."""

import httpx
import pytest
from playwright.async_api import expect
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.browser.conftest import Dashboard, webhook_for
from tests.conftest import DB_KINDS
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Received, http_receiver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """These pages' routes run on both databases."""
    kind: str = request.param
    return kind


APP = "desktop.app_tracking.captured"


async def secret_of(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> str:
    response = await http.get(f"/v1/webhooks/{webhook_id}/secret", headers=tenant.headers)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


async def stored(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> dict[str, object]:
    response = await http.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def verifies(received: Received, secret: str) -> bool:
    """What a Standard Webhooks receiver does with the raw body and the headers."""
    try:
        StandardWebhook(secret).verify(received.body, received.headers)
    except WebhookVerificationError:
        return False
    return True


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def test_switch_a_webhook_to_standard_webhooks(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    async with http_receiver() as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/std"), APP, name="Receiver")
        page = dash.page
        await dash.open(tenant)
        card = page.get_by_test_id("webhook-card")
        scheme = card.get_by_test_id("webhook-scheme")
        await expect(scheme).to_have_text("Hookline")
        await expect(scheme).to_have_attribute("data-scheme", "hookline")

        await page.get_by_role("button", name="Edit webhook Receiver").click()
        await expect(page.get_by_test_id("webhook-scheme-hookline")).to_be_checked()
        await page.get_by_test_id("webhook-scheme-standard-webhooks").check()
        await expect(page.get_by_test_id("webhook-scheme-hint")).to_be_visible()
        await dash.shot("modal")
        await page.get_by_test_id("webhook-submit").click()
        await expect(page.get_by_test_id("webhook-modal")).to_have_count(0)
        await expect(scheme).to_have_text("Standard Webhooks")
        await expect(scheme).to_have_attribute("data-scheme", "standard-webhooks")
        await dash.shot()

        after = await stored(http, tenant, webhook["id"])
        assert after["signatureScheme"] == "standard-webhooks"
        secret = await secret_of(http, tenant, webhook["id"])
        assert secret.startswith("whsec_")
        await expect(card.get_by_test_id("webhook-secret")).to_have_text(str(after["secretMasked"]))

        # A real delivery: Standard Webhooks headers, verified by the reference package.
        event_id = await ingest(http, tenant, app_event())
        [received] = await receiver.wait_for(1)
        headers = lower(received.headers)
        deliveries = await http.get(
            "/v1/deliveries", params={"webhookId": webhook["id"]}, headers=tenant.headers
        )
        [delivery] = deliveries.json()["data"]
        assert headers["webhook-id"] == delivery["id"]
        assert headers["webhook-timestamp"].isdigit()
        assert headers["webhook-signature"].startswith("v1,")
        assert " " not in headers["webhook-signature"]
        assert "x-webhook-signature" not in headers
        assert verifies(received, secret)
        assert not verifies(received, "whsec_" + "A" * 43)
        assert event_id in received.body.decode()

        # The simulation signs the same way, and the page shows the scheme's headers.
        await card.get_by_test_id("simulate-link").click()
        await page.get_by_test_id("sim-send").click()
        result = page.get_by_test_id("sim-result")
        await expect(result).to_have_attribute("data-delivered", "true")
        simulated = (await receiver.wait_for(2))[1]
        sim_headers = lower(simulated.headers)
        assert verifies(simulated, secret)
        await expect(result.get_by_test_id("sim-header-id")).to_have_text(sim_headers["webhook-id"])
        await expect(result.get_by_test_id("sim-header-signature")).to_have_text(
            sim_headers["webhook-signature"]
        )
        await dash.shot("simulation")


async def test_create_standard_webhooks_then_rotate_with_an_overlap(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    async with http_receiver() as receiver:
        page = dash.page
        await dash.open(tenant)
        await page.get_by_test_id("add-webhook").click()
        await page.get_by_test_id("webhook-name-input").fill("Rotating")
        await page.get_by_test_id("webhook-url-input").fill(receiver.url("/rot"))
        await page.get_by_test_id(f"webhook-event-{APP}").check()
        await page.get_by_test_id("webhook-scheme-standard-webhooks").check()
        await page.get_by_test_id("webhook-submit").click()
        card = page.get_by_test_id("webhook-card")
        await expect(card.get_by_test_id("webhook-scheme")).to_have_text("Standard Webhooks")
        webhook_id = await card.get_attribute("data-webhook-id")
        assert webhook_id is not None
        assert (await stored(http, tenant, webhook_id))["signatureScheme"] == "standard-webhooks"
        old = await secret_of(http, tenant, webhook_id)
        await expect(card.get_by_test_id("webhook-secret-overlap")).to_have_count(0)

        # Rotation is confirmed; the overlap is chosen in the dialog.
        await card.get_by_test_id("rotate-secret").click()
        await expect(page.get_by_test_id("secret-overlap")).to_be_focused()
        await page.get_by_test_id("secret-overlap").select_option(label="1 hour")
        await dash.shot("rotate")
        await page.get_by_test_id("confirm-action").click()
        new = await page.get_by_test_id("reveal-secret").inner_text()
        assert new.startswith("whsec_") and new != old
        assert await secret_of(http, tenant, webhook_id) == new
        await page.get_by_test_id("reveal-done").click()
        await expect(card.get_by_test_id("webhook-secret-overlap")).to_be_visible()
        assert (await stored(http, tenant, webhook_id))["previousSecretExpiresAt"] is not None
        await dash.shot()

        # During the overlap both signatures are sent: a receiver on either secret verifies.
        await ingest(http, tenant, app_event())
        [received] = await receiver.wait_for(1)
        assert len(lower(received.headers)["webhook-signature"].split(" ")) == 2
        assert verifies(received, new)
        assert verifies(received, old)


async def test_hookline_rotation_is_immediate_and_offers_no_overlap(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    async with http_receiver() as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/hk"), APP, name="Seed style")
        old = await secret_of(http, tenant, webhook["id"])
        page = dash.page
        await dash.open(tenant)
        card = page.get_by_test_id("webhook-card")
        await card.get_by_test_id("rotate-secret").click()
        modal = page.get_by_test_id("rotate-secret-modal")
        await expect(modal).to_contain_text("at once")
        await expect(page.get_by_test_id("secret-overlap")).to_have_count(0)
        await expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
        await page.get_by_test_id("confirm-action").click()
        new = await page.get_by_test_id("reveal-secret").inner_text()
        await page.get_by_test_id("reveal-done").click()
        assert new != old and await secret_of(http, tenant, webhook["id"]) == new
        await expect(card.get_by_test_id("webhook-secret")).to_have_text(new[:8] + "•" * 24)
        await expect(card.get_by_test_id("webhook-scheme")).to_have_text("Hookline")

        await ingest(http, tenant, app_event())
        [received] = await receiver.wait_for(1)
        assert received.signature_ok(new)
        assert not received.signature_ok(old)
