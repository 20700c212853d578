"""Standard Webhooks deliveries, made by the real dispatcher from events ingested through the
real API, verified by the reference libraries as real receivers on loopback: the npm
`standardwebhooks` package behind Express (`express.json()`, the body re-serialised, and
the raw body) and the PyPI package (raw body). Across every hard payload, in three phases:
one secret; a rotation's overlap (the default 24 h), where each receiver verifies knowing
only the old secret and knowing only the new one; and after an overlap has run out, where
only the newest secret verifies. Runs on SQLite and PostgreSQL.
"""

import asyncio
from typing import Any

import pytest

from tests.dispatch.helpers import Harness, dispatching
from tests.support.factories import Tenant, new_tenant, new_webhook
from tests.support.hard_payloads import HARD_PAYLOADS, screenshot_payload
from tests.support.node import node_available
from tests.support.standard_receivers import StandardReceiver, standard_receiver

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not node_available(), reason="node is not installed"),
]

SW = "standard-webhooks"
APP_EVENT = "desktop.app_tracking.captured"
SCREENSHOT = "desktop.screenshot_tracking.captured"


def _ingest_text(data: str, event_type: str = APP_EVENT) -> bytes:
    """The event as raw text, so `data` reaches Hookline exactly as a client wrote it."""
    head = f'{{"event":"{event_type}","userId":"user_1","teamId":"team_1","data":'
    return head.encode() + data.encode("utf-8", "surrogatepass") + b"}"


async def _ingest(h: Harness, tenant: Tenant, *, screenshot: bool = False) -> set[str]:
    headers = {**tenant.ingest_headers, "Content-Type": "application/json"}
    texts = [_ingest_text(data) for _, data in HARD_PAYLOADS]
    if screenshot:
        texts.append(_ingest_text(screenshot_payload(3), SCREENSHOT))
    ids: set[str] = set()
    for text in texts:
        response = await h.client.post("/v1/events", content=text, headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["deliveries"] == 2  # one per receiver's webhook
        ids.add(response.json()["id"])
    return ids


async def _received(receiver: StandardReceiver, ids: set[str]) -> list[dict[str, Any]]:
    records = await receiver.wait_for(receiver.kind, len(ids), timeout=120)
    assert {r["eventId"] for r in records} == ids, receiver.kind
    assert len(records) == len(ids), receiver.kind  # each delivered once, none refused
    return records


def _verdicts(record: dict[str, Any]) -> dict[str, bool]:
    """Per secret (each verified alone): did every way the receiver checks succeed?"""
    ways = ("rawVerified", "stringifyVerified")
    return {c["secret"]: all(c[w] for w in ways if w in c) for c in record["checks"]}


async def _rotate(h: Harness, tenant: Tenant, webhook_id: str, **body: Any) -> dict[str, Any]:
    response = await h.client.post(
        f"/v1/webhooks/{webhook_id}/secret/rotate", json=body or None, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    rotated: dict[str, Any] = response.json()
    return rotated


async def test_deliveries_verify_at_both_libraries_across_a_rotation(database_url: str) -> None:
    async with (
        standard_receiver("node") as node,
        standard_receiver("python") as python,
        dispatching(database_url) as h,
    ):
        receivers = (node, python)
        tenant = await new_tenant(h.client, "Standard")
        webhooks: dict[str, dict[str, Any]] = {}
        for receiver in receivers:
            webhook = await new_webhook(
                h.client, tenant, url=receiver.url(receiver.kind), signatureScheme=SW
            )
            assert webhook["secret"].startswith("whsec_")
            await receiver.add_secret(receiver.kind, webhook["secret"])
            webhooks[receiver.kind] = webhook

        # 1. One secret: every hard payload and a screenshot of several megabytes.
        ids = await _ingest(h, tenant, screenshot=True)
        for receiver in receivers:
            secret = webhooks[receiver.kind]["secret"]
            records = await _received(receiver, ids)
            for record in records:
                assert record["status"] == 200 and _verdicts(record) == {secret: True}, record
                assert len(record["signature"].split(" ")) == 1
                assert record["webhookId"].startswith("dlv_")
                assert record["event"] in (APP_EVENT, SCREENSHOT)
            for record in records[:5]:  # webhook-id is the delivery's id
                delivery = await h.delivery(tenant, record["webhookId"])
                assert delivery["webhookId"] == webhooks[receiver.kind]["id"]
                assert delivery["eventId"] == record["eventId"]
            if receiver.kind == "node":  # the Express way (re-serialised) was checked too
                assert all("stringifyVerified" in r["checks"][0] for r in records)

        # 2. Rotated with the default overlap: both signatures; either secret alone verifies.
        old = {kind: webhook["secret"] for kind, webhook in webhooks.items()}
        new: dict[str, str] = {}
        for receiver in receivers:
            rotated = await _rotate(h, tenant, webhooks[receiver.kind]["id"])
            assert rotated["previousSecretExpiresAt"] is not None
            new[receiver.kind] = rotated["secret"]
            await receiver.add_secret(receiver.kind, rotated["secret"])
            await receiver.clear()
        ids = await _ingest(h, tenant)
        for receiver in receivers:
            kind = receiver.kind
            for record in await _received(receiver, ids):
                assert len(record["signature"].split(" ")) == 2, record["signature"]
                assert _verdicts(record) == {old[kind]: True, new[kind]: True}, record
                assert record["status"] == 200

        # 3. Rotated again with a 1 s overlap, delivered once it has run out: only the
        # newest secret verifies; the one it replaced (and the first) no longer do.
        newest: dict[str, str] = {}
        for receiver in receivers:
            rotated = await _rotate(h, tenant, webhooks[receiver.kind]["id"], overlapSeconds=1)
            newest[receiver.kind] = rotated["secret"]
            await receiver.add_secret(receiver.kind, rotated["secret"])
            await receiver.clear()
        await _overlaps_over(h, tenant, [w["id"] for w in webhooks.values()])
        ids = await _ingest(h, tenant)
        for receiver in receivers:
            kind = receiver.kind
            for record in await _received(receiver, ids):
                assert len(record["signature"].split(" ")) == 1, record["signature"]
                expected = {old[kind]: False, new[kind]: False, newest[kind]: True}
                assert _verdicts(record) == expected, record


async def _overlaps_over(h: Harness, tenant: Tenant, webhook_ids: list[str]) -> None:
    """Wait (real time, bounded) until no webhook reports a running overlap."""
    async with asyncio.timeout(10):
        for webhook_id in webhook_ids:
            while True:
                response = await h.client.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)
                if response.json()["previousSecretExpiresAt"] is None:
                    break
                await asyncio.sleep(0.1)
