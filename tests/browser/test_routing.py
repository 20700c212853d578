"""Routing by organisation in a real browser: chosen in the webhook modal, shown on the card,
honoured at fan-out (events of two real organisations ingested over HTTP, a real receiver)."""

import json

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Dashboard
from tests.conftest import DB_KINDS
from tests.live.helpers import ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import http_receiver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """Both databases: the fan-out's routing is written per dialect (PostgreSQL arrays)."""
    return str(request.param)


APP = "desktop.app_tracking.captured"


async def second_organisation(http: httpx.AsyncClient, tenant: Tenant, name: str) -> Tenant:
    response = await http.post("/v1/organisations", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    org = response.json()
    return Tenant(
        tenant.reseller_id, tenant.name, tenant.api_key, org["id"], org["name"], org["ingestKey"]
    )


async def test_routing_chosen_in_the_modal_is_shown_on_the_card_and_honoured(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    beta = await second_organisation(http, tenant, "Beta Clinics")
    async with http_receiver() as receiver:
        page = dash.page
        await dash.open(tenant)
        await page.get_by_test_id("add-webhook").click()
        modal = page.get_by_test_id("webhook-modal")
        await page.get_by_test_id("webhook-name-input").fill("Beta only")
        await page.get_by_test_id("webhook-url-input").fill(receiver.url("/beta"))
        await page.get_by_test_id(f"webhook-event-{APP}").check()
        # Both organisations offered, none chosen: that means all of them.
        orgs = modal.get_by_test_id("webhook-orgs")
        await expect(orgs.get_by_role("checkbox")).to_have_count(2)
        summary = modal.get_by_test_id("webhook-orgs-summary")
        await expect(summary).to_contain_text("None selected")
        await modal.get_by_test_id(f"webhook-org-{beta.organisation_id}").check()
        await expect(summary).to_have_text("Only events of the 1 selected organisation.")
        await dash.shot("modal")
        await page.get_by_test_id("webhook-submit").click()
        await expect(modal).to_be_hidden()

        card = page.get_by_test_id("webhook-card")
        routing = card.get_by_test_id("webhook-routing")
        await expect(routing).to_have_text("Beta Clinics")
        await expect(routing).to_have_attribute("data-organisation-ids", beta.organisation_id)
        webhook_id = await card.get_attribute("data-webhook-id")
        webhook = (await http.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)).json()
        assert webhook["organisationIds"] == [beta.organisation_id]
        await dash.shot("card")

        # Fan-out: only Beta's event becomes a delivery (both are committed before the 202s).
        await ingest(http, tenant, app_event(user_id="from_first_org"))
        beta_event = await ingest(http, beta, app_event(user_id="from_beta"))
        listed = await http.get(
            "/v1/deliveries", params={"webhookId": webhook_id}, headers=tenant.headers
        )
        assert [d["eventId"] for d in listed.json()["data"]] == [beta_event]
        [received] = await receiver.wait_for(1)
        body = json.loads(received.body)
        assert (body["eventId"], body["organisation"]["id"]) == (beta_event, beta.organisation_id)

        # Unchoosing every organisation routes all of them again.
        await card.get_by_test_id("edit-webhook").click()
        box = modal.get_by_test_id(f"webhook-org-{beta.organisation_id}")
        await expect(box).to_be_checked()
        await expect(
            modal.get_by_test_id(f"webhook-org-{tenant.organisation_id}")
        ).not_to_be_checked()
        await box.uncheck()
        await expect(summary).to_contain_text("None selected")
        await page.get_by_test_id("webhook-submit").click()
        await expect(routing).to_have_text("All organisations")
        webhook = (await http.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)).json()
        assert webhook["organisationIds"] == []
        first = await ingest(http, tenant, app_event(user_id="from_first_org_again"))
        received = (await receiver.wait_for(2))[1]
        assert json.loads(received.body)["eventId"] == first
