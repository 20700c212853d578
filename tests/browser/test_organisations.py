"""The Organisations page in a real browser, against the real API and ingest.

Each test checks what the page shows and what the API then does: a copied ingest key is
used to send an event, a disabled organisation's key is refused, a revoked one is 401.
"""

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Dashboard
from tests.conftest import DB_KINDS
from tests.support.factories import Tenant, app_event

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """These pages' routes run on both databases."""
    kind: str = request.param
    return kind


async def send_event(http: httpx.AsyncClient, ingest_key: str) -> httpx.Response:
    return await http.post(
        "/v1/events", json=app_event(), headers={"Authorization": f"Bearer {ingest_key}"}
    )


async def organisation(http: httpx.AsyncClient, tenant: Tenant, org_id: str) -> dict[str, object]:
    response = await http.get(f"/v1/organisations/{org_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_an_organisation_and_send_with_its_copied_key(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/organisations")
    await expect(page.get_by_test_id("nav-organisations")).to_have_attribute("aria-current", "page")
    cards = page.get_by_test_id("org-card")
    await expect(cards).to_have_count(1)
    await expect(cards.get_by_test_id("org-name")).to_have_text(tenant.organisation_name)

    await page.get_by_test_id("add-organisation").click()
    await expect(page.get_by_test_id("org-name-input")).to_be_focused()
    # An empty name is refused by the API; its message lands under the field.
    await page.get_by_test_id("org-name-submit").click()
    await expect(page.get_by_test_id("field-error-name")).not_to_be_empty()
    await page.get_by_test_id("org-name-input").fill("Acme Desktops")
    await page.get_by_test_id("org-name-submit").click()

    reveal = page.get_by_test_id("reveal-modal")
    await expect(reveal).to_be_visible()
    await expect(page.get_by_test_id("org-name-modal")).to_have_count(0)
    shown = await page.get_by_test_id("reveal-secret").inner_text()
    assert re.fullmatch(r"ik_[A-Za-z0-9_-]{43}", shown), shown
    await page.get_by_test_id("reveal-copy").click()
    await expect(page.get_by_test_id("reveal-copy")).to_have_attribute("data-copied", "true")
    await dash.shot("key")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == shown

    await page.get_by_test_id("reveal-done").click()
    await expect(reveal).to_have_count(0)
    card = cards.filter(has_text="Acme Desktops")
    await expect(card.get_by_test_id("org-status")).to_have_text("Enabled")
    await expect(card.get_by_test_id("org-events")).to_have_text("No events")

    # The copied key is the organisation's: an event sent with it is accepted and counted.
    response = await send_event(http, copied)
    assert response.status_code == 202, response.text
    org_id = await card.get_attribute("data-org-id")
    assert org_id is not None
    assert (await organisation(http, tenant, org_id))["eventsLast24h"] == 1
    await page.reload()
    await expect(card.get_by_test_id("org-events")).to_have_text("1 event")
    await expect(card).to_have_attribute("data-enabled", "true")
    await dash.shot()
    # The key is not shown anywhere once its dialog is closed.
    assert copied not in await page.content()


async def test_rename_then_disable_refuses_its_key_and_enable_accepts_it_again(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/organisations")
    card = page.get_by_test_id("org-card")
    await expect(card).to_have_attribute("data-org-id", tenant.organisation_id)

    await page.get_by_role("button", name=f"Rename organisation {tenant.organisation_name}").click()
    await expect(page.get_by_test_id("org-name-input")).to_have_value(tenant.organisation_name)
    await page.get_by_test_id("org-name-input").fill("Renamed Org")
    await page.get_by_test_id("org-name-submit").click()
    await expect(card.get_by_test_id("org-name")).to_have_text("Renamed Org")
    assert (await organisation(http, tenant, tenant.organisation_id))["name"] == "Renamed Org"

    # Disabling asks first; Cancel changes nothing.
    await card.get_by_test_id("toggle-organisation").click()
    confirm = page.get_by_test_id("disable-modal")
    await expect(confirm).to_contain_text("Renamed Org")
    await expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    await dash.shot("confirm")
    await page.get_by_test_id("confirm-cancel").click()
    await expect(confirm).to_have_count(0)
    assert (await organisation(http, tenant, tenant.organisation_id))["enabled"] is True
    assert (await send_event(http, tenant.ingest_key)).status_code == 202

    await card.get_by_test_id("toggle-organisation").click()
    await page.get_by_test_id("confirm-action").click()
    await expect(confirm).to_have_count(0)
    await expect(card).to_have_attribute("data-enabled", "false")
    await expect(card.get_by_test_id("org-status")).to_have_text("Disabled")
    await expect(card.get_by_test_id("toggle-organisation")).to_have_text("Enable")
    await dash.shot("disabled")
    refused = await send_event(http, tenant.ingest_key)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "organisation_disabled"
    # Its history stays: the event accepted before still counts.
    assert (await organisation(http, tenant, tenant.organisation_id))["eventsLast24h"] == 1

    await card.get_by_test_id("toggle-organisation").click()
    await expect(card).to_have_attribute("data-enabled", "true")
    assert (await send_event(http, tenant.ingest_key)).status_code == 202


async def test_rotate_with_an_overlap_then_revoke_the_old_key(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/organisations")
    card = page.get_by_test_id("org-card")
    toggle = card.get_by_test_id("org-keys-toggle")
    await expect(toggle).to_have_text("Ingest keys (1)")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    rows = card.get_by_test_id("ingest-key-row")
    await expect(rows).to_have_count(1)
    await expect(rows.get_by_test_id("ingest-key-prefix")).to_have_text(
        f"{tenant.ingest_key[:12]}…"
    )
    await expect(rows).to_have_attribute("data-state", "active")

    await card.get_by_test_id("rotate-ingest-keys").click()
    await expect(page.get_by_test_id("rotate-overlap")).to_be_focused()
    await page.get_by_test_id("rotate-overlap").select_option(label="1 hour")
    await page.get_by_test_id("confirm-action").click()
    await expect(page.get_by_test_id("rotate-modal")).to_have_count(0)
    new_key = await page.get_by_test_id("reveal-secret").inner_text()
    assert new_key.startswith("ik_") and new_key != tenant.ingest_key
    await page.get_by_test_id("reveal-done").click()

    # Both keys work during the overlap; the old one says when it stops.
    await expect(toggle).to_have_text("Ingest keys (2)")
    await expect(rows).to_have_count(2)
    old_row = rows.filter(has_text=tenant.ingest_key[:12])
    await expect(old_row).to_have_attribute("data-state", "expiring")
    await expect(old_row.get_by_test_id("ingest-key-state")).to_have_text(
        re.compile(r"^Expires in (59 min|1 hr)$")
    )
    new_row = rows.filter(has_text=new_key[:12])
    await expect(new_row).to_have_attribute("data-state", "active")
    await dash.shot("overlap")
    assert (await send_event(http, tenant.ingest_key)).status_code == 202
    assert (await send_event(http, new_key)).status_code == 202

    # Revoking is confirmed and takes effect at once.
    await old_row.get_by_test_id("revoke-ingest-key").click()
    await expect(page.get_by_test_id("revoke-modal")).to_contain_text(tenant.ingest_key[:12])
    await page.get_by_test_id("confirm-action").click()
    await expect(page.get_by_test_id("revoke-modal")).to_have_count(0)
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-key-id", re.compile(".+"))
    await expect(rows.get_by_test_id("ingest-key-prefix")).to_have_text(f"{new_key[:12]}…")
    await dash.shot()
    revoked = await send_event(http, tenant.ingest_key)
    assert revoked.status_code == 401, revoked.text
    assert (await send_event(http, new_key)).status_code == 202


async def test_rotate_without_overlap_stops_the_old_key_at_once(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/organisations")
    card = page.get_by_test_id("org-card")
    await card.get_by_test_id("org-keys-toggle").click()
    await card.get_by_test_id("rotate-ingest-keys").click()
    await expect(page.get_by_test_id("rotate-overlap")).to_have_value("0")
    await page.get_by_test_id("confirm-action").click()
    new_key = await page.get_by_test_id("reveal-secret").inner_text()
    await page.get_by_test_id("reveal-done").click()
    await expect(card.get_by_test_id("org-keys-toggle")).to_have_text("Ingest keys (1)")
    await expect(card.get_by_test_id("ingest-key-prefix")).to_have_text(f"{new_key[:12]}…")
    assert (await send_event(http, tenant.ingest_key)).status_code == 401
    assert (await send_event(http, new_key)).status_code == 202

    # "New key" adds one beside the others: both are accepted.
    await card.get_by_test_id("new-ingest-key").click()
    added = await page.get_by_test_id("reveal-secret").inner_text()
    await page.get_by_test_id("reveal-done").click()
    await expect(card.get_by_test_id("ingest-key-row")).to_have_count(2)
    assert (await send_event(http, added)).status_code == 202
    assert (await send_event(http, new_key)).status_code == 202
