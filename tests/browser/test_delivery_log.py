"""The delivery log that finds things, in a real browser: filters by status, event type,
organisation and time range and a lookup by event id, all kept in the URL (a shared link opens
the same view); and Replay missing… gives a webhook created today the events it never had."""

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.browser.test_routing import second_organisation
from tests.conftest import DB_KINDS
from tests.live.helpers import activity_event, ingest
from tests.support.factories import Tenant, app_event
from tests.support.receiver import http_receiver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """Both databases: the filters and the replay (row locks on PostgreSQL) per dialect."""
    return str(request.param)


APP = "desktop.app_tracking.captured"
ACTIVITY = "desktop.activity_tracking.captured"


async def settled(http: httpx.AsyncClient, tenant: Tenant, webhook_id: str, n: int) -> None:
    async with asyncio.timeout(15):
        while True:
            response = await http.get(
                "/v1/deliveries", params={"webhookId": webhook_id}, headers=tenant.headers
            )
            data = response.json()["data"]
            if len(data) == n and all(d["status"] == "succeeded" for d in data):
                return
            await asyncio.sleep(0.05)


def query(page: Page) -> dict[str, list[str]]:
    fragment = urlsplit(page.url).fragment
    return parse_qs(fragment.split("?", 1)[1]) if "?" in fragment else {}


async def shown(page: Page) -> list[str]:
    rows = page.get_by_test_id("delivery-row")
    return [str(await row.get_attribute("data-event-id")) for row in await rows.all()]


async def test_filters_and_lookup_live_in_the_url(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Any
) -> None:
    beta = await second_organisation(http, tenant, "Beta Clinics")
    webhook = await webhook_for(http, tenant, sink.base_url, APP, ACTIVITY, name="Everything")
    first_app = await ingest(http, tenant, app_event(user_id="a1"))
    second_app = await ingest(http, tenant, app_event(user_id="a2"))
    activity = await ingest(http, tenant, activity_event())
    beta_app = await ingest(http, beta, app_event(user_id="b1"))
    await settled(http, tenant, webhook["id"], 4)
    page = dash.page
    rows = page.get_by_test_id("delivery-row")

    # A shared link opens the filtered view, its choices shown in the toolbar.
    link = f"#/deliveries/{webhook['id']}?eventType={APP}&organisationId={beta.organisation_id}"
    await dash.open(tenant, link)
    await expect(rows).to_have_count(1)
    assert await shown(page) == [beta_app]
    # Each row names its event's organisation (by name once the names have loaded).
    origin = rows.first.get_by_test_id("delivery-org")
    await expect(origin).to_have_text("Beta Clinics")
    assert await origin.get_attribute("data-organisation-id") == beta.organisation_id
    await expect(page.get_by_test_id("delivery-event-filter")).to_have_value(APP)
    org_filter = page.get_by_test_id("delivery-org-filter")
    await expect(org_filter).to_have_value(beta.organisation_id)
    await expect(org_filter.locator("option:checked")).to_have_text("Beta Clinics")
    await dash.shot("shared-link")

    await page.get_by_test_id("delivery-clear-filters").click()
    await expect(rows).to_have_count(4)
    assert query(page) == {}

    await org_filter.select_option(tenant.organisation_id)
    await expect(rows).to_have_count(3)
    await page.get_by_test_id("delivery-event-filter").select_option(ACTIVITY)
    await expect(rows).to_have_count(1)
    assert await shown(page) == [activity]
    assert query(page) == {"eventType": [ACTIVITY], "organisationId": [tenant.organisation_id]}
    await page.get_by_test_id("delivery-status-filter").select_option("failed")
    await expect(page.get_by_test_id("deliveries-empty")).to_have_text(
        "No deliveries match these filters."
    )
    await page.get_by_test_id("delivery-clear-filters").click()
    await expect(rows).to_have_count(4)

    # Lookup by event id: Enter finds it; a reload keeps it.
    lookup = page.get_by_test_id("delivery-event-id")
    await lookup.fill(second_app)
    await lookup.press("Enter")
    await expect(rows).to_have_count(1)
    assert await shown(page) == [second_app]
    assert query(page) == {"eventId": [second_app]}
    await page.reload()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_test_id("delivery-event-id")).to_have_value(second_app)
    await page.get_by_test_id("delivery-clear-filters").click()

    # Time range, on the delivery's creation time.
    since = page.get_by_test_id("delivery-since")
    await since.fill("2099-01-01T00:00")
    await expect(page.get_by_test_id("deliveries-empty")).to_be_visible()
    assert re.fullmatch(
        r"2099-01-01T\d\d:\d\d:00\.000Z|2098-12-31T\d\d:\d\d:00\.000Z", query(page)["since"][0]
    )
    await since.fill("2000-01-01T00:00")
    await expect(rows).to_have_count(4)
    await page.get_by_test_id("delivery-until").fill("2000-01-02T00:00")
    await expect(page.get_by_test_id("deliveries-empty")).to_be_visible()
    await page.get_by_test_id("delivery-clear-filters").click()
    await expect(rows).to_have_count(4)
    assert sorted(await shown(page)) == sorted([first_app, second_app, activity, beta_app])


async def test_replay_missing_gives_a_new_webhook_yesterdays_events(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    earlier = [await ingest(http, tenant, app_event(user_id=f"u{n}")) for n in range(3)]
    await ingest(http, tenant, activity_event())  # not a type the new webhook takes
    async with http_receiver() as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/late"), APP, name="Newcomer")
        page = dash.page
        await dash.open(tenant, f"#/deliveries/{webhook['id']}")
        await expect(page.get_by_test_id("deliveries-empty")).to_have_text("No deliveries yet.")

        await page.get_by_test_id("replay-open").click()
        modal = page.get_by_test_id("replay-modal")
        await expect(modal.get_by_test_id("replay-since")).not_to_have_value("")
        await modal.get_by_test_id("replay-submit").click()
        result = page.get_by_test_id("replay-result")
        await expect(result).to_have_attribute("data-created", "3")
        await expect(result).to_have_text("Created 3 deliveries for events this webhook never had.")
        rows = page.get_by_test_id("delivery-row")
        await expect(rows).to_have_count(3)
        assert sorted(await shown(page)) == sorted(earlier)
        for row in await rows.all():
            await expect(row).to_have_attribute("data-status", "succeeded", timeout=10_000)
        await receiver.wait_for(3)
        await dash.shot()

        # Again: nothing is missing any more.
        await page.get_by_test_id("replay-open").click()
        await page.get_by_test_id("replay-submit").click()
        await expect(page.get_by_test_id("replay-result").first).to_have_attribute(
            "data-created", "0"
        )
        await expect(rows).to_have_count(3)
        assert len(receiver.requests) == 3
