"""The Settings page's API keys in a real browser, checked against the real API:
a created key signs requests, a revoked one gets 401, revoking the key in use signs out."""

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import KEY_STORAGE, Dashboard
from tests.conftest import DB_KINDS
from tests.support.factories import Tenant

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=DB_KINDS)
def browser_db(request: pytest.FixtureRequest) -> str:
    """These pages' routes run on both databases."""
    kind: str = request.param
    return kind


SIGNED_OUT = "You revoked the API key this browser was signed in with. Sign in with another key."


async def me_status(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    return response.status_code


async def second_key(http: httpx.AsyncClient, tenant: Tenant, name: str) -> dict[str, str]:
    response = await http.post("/v1/api-keys", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


async def test_create_copy_then_revoke_a_second_key(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/settings")
    await expect(page.get_by_test_id("nav-settings")).to_have_attribute("aria-current", "page")
    rows = page.get_by_test_id("api-key-row")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-current", "true")
    await expect(rows.get_by_test_id("api-key-current")).to_have_text("This browser")
    await expect(rows.get_by_test_id("api-key-prefix")).to_have_text(f"{tenant.api_key[:12]}…")

    # A name is required: the API's message shows under the field, nothing is created.
    await page.get_by_test_id("create-api-key").click()
    await expect(page.get_by_test_id("field-error-name")).not_to_be_empty()
    await expect(rows).to_have_count(1)

    await page.get_by_test_id("api-key-name-input").fill("CI deploys")
    await page.get_by_test_id("create-api-key").click()
    shown = await page.get_by_test_id("reveal-secret").inner_text()
    assert re.fullmatch(r"hk_[A-Za-z0-9_-]{43}", shown), shown
    await page.get_by_test_id("reveal-copy").click()
    await expect(page.get_by_test_id("reveal-copy")).to_have_attribute("data-copied", "true")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == shown
    await page.get_by_test_id("reveal-done").click()
    assert await me_status(http, copied) == 200

    ci = rows.filter(has_text="CI deploys")
    await expect(rows).to_have_count(2)
    await expect(ci).to_have_attribute("data-current", "false")
    await expect(ci.get_by_test_id("api-key-prefix")).to_have_text(f"{copied[:12]}…")
    await expect(ci.get_by_test_id("api-key-last-used")).to_have_text("never")
    await dash.shot("created")

    # Revoking asks first; Cancel leaves the key working.
    await page.get_by_role("button", name="Revoke API key CI deploys").click()
    modal = page.get_by_test_id("revoke-modal")
    await expect(modal).to_contain_text("CI deploys")
    await expect(modal.get_by_test_id("revoke-current-warning")).to_have_count(0)
    await page.get_by_test_id("confirm-cancel").click()
    assert await me_status(http, copied) == 200

    await page.get_by_role("button", name="Revoke API key CI deploys").click()
    await page.get_by_test_id("confirm-action").click()
    await expect(modal).to_have_count(0)
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-current", "true")
    await dash.shot()
    assert await me_status(http, copied) == 401
    # This browser's key is untouched: still signed in.
    assert await me_status(http, tenant.api_key) == 200
    await page.reload()
    await expect(page.get_by_test_id("reseller-name")).to_have_text(tenant.name)


async def test_revoking_the_key_in_use_signs_the_browser_out(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    other = await second_key(http, tenant, "Backup")
    page = dash.page
    await dash.open(tenant, "#/settings")
    current = page.get_by_test_id("api-key-row").and_(page.locator('[data-current="true"]'))
    await expect(current).to_have_count(1)
    await current.get_by_test_id("revoke-api-key").click()
    await expect(page.get_by_test_id("revoke-current-warning")).to_be_visible()
    await dash.shot("confirm")
    await page.get_by_test_id("confirm-action").click()

    await expect(page.get_by_test_id("signin-form")).to_be_visible()
    await expect(page.get_by_test_id("signin-error")).to_have_text(SIGNED_OUT)
    assert await page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    await dash.shot()
    assert await me_status(http, tenant.api_key) == 401

    # The other key still works, here too.
    await page.get_by_test_id("signin-key").fill(other["apiKey"])
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("reseller-name")).to_have_text(tenant.name)
    await page.get_by_test_id("nav-settings").click()
    rows = page.get_by_test_id("api-key-row")
    await expect(rows).to_have_count(1)
    await expect(rows.get_by_test_id("api-key-name")).to_have_text("Backup")
    await expect(rows).to_have_attribute("data-current", "true")


async def test_the_last_key_cannot_be_revoked(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    page = dash.page
    await dash.open(tenant, "#/settings")
    await page.get_by_test_id("revoke-api-key").click()
    await page.get_by_test_id("confirm-action").click()
    # The API refuses (409): the dialog says why and nothing is signed out.
    await expect(page.get_by_test_id("revoke-modal").get_by_test_id("form-error")).not_to_be_empty()
    await expect(page.get_by_test_id("confirm-action")).to_be_enabled()
    await page.get_by_test_id("confirm-cancel").click()
    await expect(page.get_by_test_id("api-key-row")).to_have_count(1)
    await expect(page.get_by_test_id("reseller-name")).to_have_text(tenant.name)
    assert await me_status(http, tenant.api_key) == 200
