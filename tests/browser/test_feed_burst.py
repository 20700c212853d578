"""The live feed under a burst: at most three toasts and a "+N more" line, and never one over
the Live Pool's Pause button (a real batch ingested over HTTP, a real headless Chromium)."""

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.browser.test_feed import gone, ingest_batch
from tests.support.factories import Tenant
from tests.support.receiver import Receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"

# Toasts let clicks through (pointer-events: none), so elementFromPoint alone would not see a
# toast drawn over the button: the boxes of everything in the notification corner are
# compared with the button's box too.
COVERAGE = """(testid) => {
  const button = document.querySelector(`[data-testid="${testid}"]`);
  const r = button.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const at = document.elementFromPoint(x, y);
  const boxes = [...document.querySelectorAll(
    '[data-testid="toast"], [data-testid="toast-more"], [data-testid="notice"]')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => el.getBoundingClientRect());
  const overlapping = boxes.filter((b) =>
    b.left < r.right && r.left < b.right && b.top < r.bottom && r.top < b.bottom).length;
  const inView = r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
  return {hit: at !== null && button.contains(at), overlapping, inView, shown: boxes.length};
}"""


async def coverage(page: Page, testid: str) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(COVERAGE, testid)
    return result


async def burst(
    dash: Dashboard, http: httpx.AsyncClient, tenant: Tenant, count: int, before: int = 0
) -> None:
    page = dash.page
    await ingest_batch(http, tenant, count)
    await expect(page.get_by_test_id("pool-entry")).to_have_count(before + count)
    await expect(page.get_by_test_id("toast")).to_have_count(3)
    await expect(page.get_by_test_id("toast-more")).to_have_text(f"+{count - 3} more")


async def test_a_burst_shows_three_toasts_and_the_rest_as_a_count(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP)
    page = dash.page
    await dash.open_feed(tenant)
    await expect(page.get_by_test_id("toast-more")).to_be_hidden()

    await burst(dash, http, tenant, 12)
    await expect(page.get_by_test_id("toast-more")).to_be_visible()
    # The newest three, newest first, like the pool.
    entries = await page.get_by_test_id("pool-entry").all()
    pool = [await entry.get_attribute("data-event-id") for entry in entries]
    shown = await page.get_by_test_id("toast").all()
    toasts = [await toast.get_attribute("data-event-id") for toast in shown]
    assert toasts == pool[:3]
    await dash.shot("burst", full_page=False)

    state = await coverage(page, "pool-pause")
    assert state == {"hit": True, "overlapping": 0, "inView": True, "shown": 4}, state
    # A real click lands on it while the toasts are up (Playwright refuses a covered target).
    await page.get_by_test_id("pool-pause").click(timeout=2_000)
    await expect(page.get_by_test_id("pool-resume")).to_be_visible()

    # The count belongs to the burst: gone with its toasts.
    await gone(page, "toast")
    await expect(page.get_by_test_id("toast-more")).to_be_hidden()


async def test_toasts_move_off_the_pause_button_on_a_narrow_scrolled_window(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient, sink: Receiver
) -> None:
    await webhook_for(http, tenant, sink.base_url, APP)
    page = dash.page
    await page.set_viewport_size({"width": 760, "height": 640})
    await dash.open_feed(tenant)
    # Ten cards first, so the tab's panel (above the pool on a narrow window) stops growing.
    await burst(dash, http, tenant, 10)
    await gone(page, "toast")
    # Panels stack on a narrow window: scroll until Pause sits at the bottom right, exactly
    # where the notification corner is.
    await page.evaluate(
        """() => {
          const r = document.querySelector('[data-testid="pool-pause"]').getBoundingClientRect();
          window.scrollBy(0, r.bottom - innerHeight + 40);
        }"""
    )
    before = await coverage(page, "pool-pause")
    assert before["inView"] and before["hit"], before

    await burst(dash, http, tenant, 8, before=10)
    state = await coverage(page, "pool-pause")
    assert state == {"hit": True, "overlapping": 0, "inView": True, "shown": 4}, state
    await dash.shot("narrow", full_page=False)
    await page.get_by_test_id("pool-pause").click(timeout=2_000)
    await expect(page.get_by_test_id("pool-resume")).to_be_visible()
