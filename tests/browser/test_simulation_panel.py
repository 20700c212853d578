"""The simulation panel explains, in a real browser against real loopback receivers: the
timing breakdown of the send, and the signature self-check, a warning exactly when the
endpoint accepts the deliberately mis-signed copy."""

import json
import re

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Dashboard, webhook_for
from tests.support.factories import Tenant
from tests.support.receiver import Received, Reply, http_receiver

pytestmark = pytest.mark.browser

APP = "desktop.app_tracking.captured"
MS = re.compile(r"^\d+(\.\d)? ms$")


async def test_an_endpoint_that_accepts_anything_is_warned_about(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    async with http_receiver(lambda _: Reply(200, "sure")) as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/trusting"), APP)
        page = dash.page
        await dash.open(tenant, f"#/simulations?webhook={webhook['id']}")
        await expect(page.get_by_test_id("sim-preview")).to_have_attribute("aria-busy", "false")
        await page.get_by_test_id("sim-send").click()
        result = page.get_by_test_id("sim-result")
        await expect(result).to_have_attribute("data-delivered", "true")

        # Timing: an IP literal over http has no DNS and no TLS; connect and first byte do.
        timing = result.get_by_test_id("sim-timing")
        await expect(timing.get_by_test_id("sim-timing-dns")).to_have_text("—")
        await expect(timing.get_by_test_id("sim-timing-tls")).to_have_text("—")
        for phase in ("sim-timing-connect", "sim-timing-first-byte", "sim-timing-total"):
            await expect(timing.get_by_test_id(phase)).to_have_text(MS)
        connect = float(
            await timing.get_by_test_id("sim-timing-connect").get_attribute("data-ms") or -1
        )
        first = float(
            await timing.get_by_test_id("sim-timing-first-byte").get_attribute("data-ms") or -1
        )
        total = float(
            await timing.get_by_test_id("sim-timing-total").get_attribute("data-ms") or -1
        )
        assert 0 <= connect and 0 <= first and total >= connect + first

        check = result.get_by_test_id("sim-selfcheck")
        await expect(check).to_have_attribute("data-state", "warning")
        await expect(check.get_by_test_id("sim-selfcheck-warning")).to_have_text(
            "Your endpoint does not verify signatures"
        )
        await expect(check.get_by_test_id("sim-selfcheck-detail")).to_contain_text("HTTP 200")
        await dash.shot()

        # The receiver saw the signed event, then the same payload mis-signed, both marked.
        signed, forged = await receiver.wait_for(2)
        assert signed.signature_ok(webhook["secret"])
        assert not forged.signature_ok(webhook["secret"])
        assert json.loads(forged.body) == json.loads(signed.body)
        assert json.loads(signed.body)["simulation"] is True


async def test_an_endpoint_that_verifies_signatures_passes_the_check(
    dash: Dashboard, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    secret = ""

    def verifying(request: Received) -> Reply:
        return Reply(200, "verified") if request.signature_ok(secret) else Reply(401, "bad sig")

    async with http_receiver(verifying) as receiver:
        webhook = await webhook_for(http, tenant, receiver.url("/careful"), APP)
        secret = webhook["secret"]
        page = dash.page
        await dash.open(tenant, f"#/simulations?webhook={webhook['id']}")
        await expect(page.get_by_test_id("sim-preview")).to_have_attribute("aria-busy", "false")
        await page.get_by_test_id("sim-send").click()
        result = page.get_by_test_id("sim-result")
        await expect(result.get_by_test_id("sim-status")).to_have_text("200")
        check = result.get_by_test_id("sim-selfcheck")
        await expect(check).to_have_attribute("data-state", "ok")
        await expect(check).to_contain_text("Signature check passed")
        await expect(check).to_contain_text("HTTP 401")
        await expect(result.get_by_test_id("sim-selfcheck-warning")).to_have_count(0)
        await expect(result.get_by_test_id("sim-timing-total")).to_have_text(MS)
        await dash.shot()
        assert [r.signature_ok(secret) for r in await receiver.wait_for(2)] == [True, False]
