"""The Live Desktop Event Feed in a real browser, fed by real ingest over HTTP."""

import json
import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.live.helpers import activity_event, ingest, screenshot_event
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"
SCREENSHOT = "desktop.screenshot_tracking.captured"
ACTIVITY = "desktop.activity_tracking.captured"
JUST_NOW = re.compile(r"^(just now|\d sec ago)$")


def tab(page: Page, event_type: str) -> Locator:
    return page.get_by_test_id(f"feed-tab-{event_type}")


def card(page: Page, event_id: str) -> Locator:
    return page.locator(f'[data-testid="event-card"][data-event-id="{event_id}"]')


async def gone(page: Page, testid: str) -> None:
    """Waits, checking every frame, until no element has `testid` (expect polls too coarsely)."""
    await page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"{testid}\"]').length === 0",
        timeout=5_000,
    )


async def ingest_batch(http: httpx.AsyncClient, tenant: Tenant, count: int) -> list[str]:
    bodies = [app_event(user_id=f"user_{n}") for n in range(count)]
    response = await http.post(
        "/v1/events/batch", json={"events": bodies}, headers=tenant.ingest_headers
    )
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    return ids


async def test_an_ingested_event_shows_in_its_tab_within_a_second(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP, SCREENSHOT)
    page = dash.page
    await dash.open_feed(tenant)
    await expect(page.get_by_test_id("live-badge")).to_be_visible()
    await expect(page.get_by_test_id("connection-badge")).to_have_text("Connected")
    await expect(tab(page, APP)).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_test_id("feed-empty")).to_be_visible()

    started = time.monotonic()
    event_id = await ingest(http, tenant, app_event(user_id="user_42", team_id="team_7"))
    shown = card(page, event_id)
    await expect(shown).to_be_visible(timeout=1_000)
    assert time.monotonic() - started < 1.0

    await expect(shown.get_by_test_id("event-parent-org")).to_have_text(tenant.name)
    await expect(shown.get_by_test_id("event-org")).to_have_text(tenant.organisation_name)
    await expect(shown.get_by_test_id("event-id")).to_have_text(event_id)
    await expect(shown.get_by_test_id("event-user-id")).to_have_text("user_42")
    await expect(shown.get_by_test_id("event-team-id")).to_have_text("team_7")
    for copy in ("copy-event-id", "copy-event-user-id", "copy-event-team-id"):
        await expect(shown.get_by_test_id(copy)).to_be_visible()
    await expect(shown.get_by_test_id("event-relative")).to_have_text(JUST_NOW)
    await expect(tab(page, APP).get_by_test_id("feed-tab-count")).to_have_text("1")
    await expect(tab(page, SCREENSHOT).get_by_test_id("feed-tab-count")).to_have_text("0")
    await dash.shot()

    stored = (await http.get(f"/v1/events/{event_id}", headers=tenant.headers)).json()
    stamp = await shown.get_by_test_id("event-timestamp").get_attribute("datetime")
    assert stamp is not None
    received = datetime.fromisoformat(stored["receivedAt"].replace("Z", "+00:00"))
    assert (
        abs((datetime.fromisoformat(stamp.replace("Z", "+00:00")) - received).total_seconds()) < 1
    )
    assert abs((datetime.now(UTC) - received).total_seconds()) < 5
    payload = json.loads(await shown.get_by_test_id("event-payload").inner_text())
    assert payload == stored["payload"]

    # A screenshot goes to its own tab, not to the tracking one.
    shot_id = await ingest(http, tenant, screenshot_event(64, user_id="user_9"))
    await expect(tab(page, SCREENSHOT).get_by_test_id("feed-tab-count")).to_have_text("1")
    await expect(card(page, shot_id)).to_have_count(0)
    await tab(page, SCREENSHOT).click()
    await expect(tab(page, SCREENSHOT)).to_have_attribute("aria-selected", "true")
    await expect(card(page, shot_id)).to_be_visible()
    await expect(card(page, event_id)).to_have_count(0)
    await expect(page.get_by_test_id("event-card")).to_have_count(1)
    await expect(page.get_by_test_id("pool-entry")).to_have_count(2)


async def test_tabs_follow_the_subscriptions(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    page = dash.page
    await dash.open(tenant)
    await expect(page.get_by_test_id("connection-badge")).to_have_attribute(
        "data-state", "connected"
    )
    await expect(page.get_by_test_id("feed")).to_be_hidden()

    # A webhook made elsewhere: the server announces the new subscriptions.
    webhook = await webhook_for(http, tenant, sink.base_url, SCREENSHOT)
    await expect(page.get_by_test_id("feed")).to_be_visible()
    await expect(page.get_by_role("tab")).to_have_count(1)
    await expect(tab(page, SCREENSHOT)).to_contain_text("Screenshot Event")
    # An unsubscribed type never reaches the feed.
    await ingest(http, tenant, app_event())
    await ingest(http, tenant, screenshot_event(64))
    await expect(page.get_by_test_id("pool-entry")).to_have_count(1)
    await expect(page.get_by_test_id("pool-entry")).to_have_attribute("data-event-type", SCREENSHOT)

    # Edited in the dashboard: the tabs follow, in catalogue order.
    await page.reload()
    await page.get_by_test_id("edit-webhook").click()
    await page.get_by_test_id(f"webhook-event-{ACTIVITY}").check()
    await page.get_by_test_id(f"webhook-event-{APP}").check()
    await page.get_by_test_id("webhook-submit").click()
    await expect(page.get_by_role("tab")).to_have_text(
        [
            re.compile("^Tracking Event"),
            re.compile("^Screenshot Event"),
            re.compile("^Activity Event"),
        ]
    )
    activity_id = await ingest(http, tenant, activity_event())
    await expect(tab(page, ACTIVITY).get_by_test_id("feed-tab-count")).to_have_text("1")
    await tab(page, ACTIVITY).click()
    await expect(card(page, activity_id)).to_be_visible()
    await dash.shot()

    # Nothing subscribed any more (the only webhook disabled): no feed at all.
    response = await http.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    await expect(page.get_by_test_id("feed")).to_be_hidden()


async def test_new_event_badge_lasts_three_seconds(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP)
    page = dash.page
    await dash.open_feed(tenant)
    first = await ingest(http, tenant, app_event())
    await expect(card(page, first)).to_be_visible()
    second = await ingest(http, tenant, app_event())
    newest = card(page, second)
    await expect(newest.get_by_test_id("new-badge")).to_have_text("New Event")
    seen = time.monotonic()
    await expect(newest).to_have_attribute("data-new", "true")
    await expect(newest.get_by_test_id("event-type-label")).to_have_count(0)
    # Only the newest card and the newest pool entry carry it.
    await expect(card(page, first)).to_have_attribute("data-new", "false")
    await expect(page.get_by_test_id("event-list").get_by_test_id("new-badge")).to_have_count(1)
    pool_top = page.get_by_test_id("pool-entry").first
    await expect(pool_top).to_have_attribute("data-event-id", second)
    await expect(pool_top.get_by_test_id("new-badge")).to_be_visible()
    await dash.shot("new")

    await gone(page, "new-badge")
    lasted = time.monotonic() - seen
    assert 2.0 < lasted < 4.0, lasted
    await expect(newest).to_have_attribute("data-new", "false")
    await expect(newest.get_by_test_id("event-type-label")).to_have_text("Tracking Event")
    # The relative time has been ticking meanwhile.
    await expect(newest.get_by_test_id("event-relative")).to_have_text(re.compile(r"^\d sec ago$"))
    assert await newest.get_by_test_id("event-relative").inner_text() != "just now"
    await dash.shot()


async def test_live_pool_keeps_the_newest_thirty(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP)
    page = dash.page
    await dash.open_feed(tenant)
    ids = await ingest_batch(http, tenant, 35)
    await expect(tab(page, APP).get_by_test_id("feed-tab-count")).to_have_text("35")
    entries = page.get_by_test_id("pool-entry")
    await expect(entries).to_have_count(30)
    await expect(page.get_by_test_id("pool-count")).to_have_text("30 of 30")
    await expect(page.get_by_test_id("event-card")).to_have_count(10)
    shown = [await entry.get_attribute("data-event-id") for entry in await entries.all()]
    assert shown == ids[::-1][:30]
    await expect(entries.first.get_by_test_id("pool-org")).to_have_text(tenant.organisation_name)
    await expect(entries.first.get_by_test_id("pool-relative")).to_have_text(JUST_NOW)
    await expect(entries.first.get_by_test_id("pool-dot")).to_be_visible()
    await dash.shot()


async def test_pause_holds_the_pool_and_resume_catches_up(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP)
    page = dash.page
    await dash.open_feed(tenant)
    first = await ingest(http, tenant, app_event())
    entries = page.get_by_test_id("pool-entry")
    await expect(entries).to_have_count(1)

    await page.get_by_test_id("pool-pause").click()
    await expect(page.get_by_test_id("pool-resume")).to_be_visible()
    await expect(page.get_by_test_id("pool-pause")).to_be_hidden()
    held = [await ingest(http, tenant, app_event()) for _ in range(3)]
    # Still counted and still shown in their tab, but held out of the pool.
    await expect(tab(page, APP).get_by_test_id("feed-tab-count")).to_have_text("4")
    await expect(page.get_by_test_id("event-card")).to_have_count(4)
    await expect(page.get_by_test_id("pool-held")).to_have_text("Paused — 3 new events waiting")
    await expect(entries).to_have_count(1)
    await dash.shot("paused")

    await page.get_by_test_id("pool-resume").click()
    await expect(entries).to_have_count(4)
    await expect(page.get_by_test_id("pool-held")).to_be_hidden()
    await expect(page.get_by_test_id("pool-pause")).to_be_visible()
    shown = [await entry.get_attribute("data-event-id") for entry in await entries.all()]
    assert shown == [*held[::-1], first]
    await expect(entries.first.get_by_test_id("new-badge")).to_be_visible()
    await dash.shot()


async def test_a_toast_per_event_for_three_seconds(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP, ACTIVITY)
    page = dash.page
    await dash.open_feed(tenant)
    await ingest(http, tenant, activity_event())
    toast = page.get_by_test_id("toast")
    await expect(toast).to_have_count(1)
    seen = time.monotonic()
    await expect(toast).to_have_attribute("data-event-type", ACTIVITY)
    await expect(toast.get_by_test_id("toast-icon")).to_be_visible()
    await expect(toast.get_by_test_id("toast-title")).to_have_text("Activity Event")
    await expect(toast.get_by_test_id("toast-org")).to_have_text(tenant.organisation_name)
    await expect(toast.get_by_test_id("toast-timestamp")).not_to_be_empty()
    await expect(toast.get_by_test_id("toast-relative")).to_have_text(JUST_NOW)
    await dash.shot()

    await gone(page, "toast")
    lasted = time.monotonic() - seen
    assert 2.0 < lasted < 4.0, lasted
