"""Standard Webhooks deliveries, made by the real dispatcher from events ingested through the
real API, verified by the reference libraries as real receivers on loopback: the npm
`standardwebhooks` package behind Express (`express.json()`, the body re-serialised, and
the raw body) and the PyPI package (raw body). Across every hard payload, in three phases:
one secret; a rotation's overlap (the default 24 h), where each receiver verifies knowing
only the old secret and knowing only the new one; and after an overlap has run out, where
only the newest secret verifies. And retries: the same `webhook-id`, a new timestamp, the
previous secret's signature only while the attempt's own time is inside the overlap.
Runs on SQLite and PostgreSQL.
"""

import asyncio
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.dispatch.helpers import Harness, dispatching
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook
from tests.support.hard_payloads import HARD_PAYLOADS, screenshot_payload
from tests.support.node import node_available
from tests.support.receiver import Received, Receiver, Reply
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


def _verifies(secret: str, request: Received) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def test_retries_keep_the_id_and_the_overlap_ends_by_each_attempts_time(
    database_url: str,
) -> None:
    """Every attempt is signed at its own time: the same webhook-id, a new timestamp, and
    the previous secret's signature only while the attempt falls inside the overlap."""
    receiver = Receiver().then(Reply(503), Reply(503))
    async with receiver, dispatching(database_url, retry_schedule=(5, 60)) as h:
        tenant, webhook = await h.tenant_with_webhook(receiver.url(), signatureScheme=SW)
        new = (await _rotate(h, tenant, webhook["id"], overlapSeconds=60))["secret"]
        old = webhook["secret"]
        accepted = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert accepted.status_code == 202, accepted.text
        [first] = await receiver.wait_for(1)
        delivery_id = first.headers["webhook-id"]
        await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        h.advance(6)  # the first retry, still inside the overlap (the attempt's clock: +6 s)
        await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 2)
        h.advance(61)  # the second retry, after the overlap (+67 s)
        done = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "succeeded")
    assert [a["statusCode"] for a in done["attempts"]] == [503, 503, 200]
    requests = receiver.requests
    assert {r.headers["webhook-id"] for r in requests} == {delivery_id}
    assert len({r.body for r in requests}) == 1
    stamps = [int(r.headers["webhook-timestamp"]) for r in requests]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    counts = [len(r.headers["webhook-signature"].split(" ")) for r in requests]
    assert counts == [2, 2, 1]
    assert [(_verifies(old, r), _verifies(new, r)) for r in requests] == [
        (True, True),
        (True, True),
        (False, True),
    ]


async def test_a_limited_endpoint_is_signed_the_same_way(database_url: str) -> None:
    """Endpoints with `maxInFlight` are claimed apart (under their webhook row's lock): their
    jobs carry the scheme and the previous secret too."""
    async with Receiver() as receiver, dispatching(database_url) as h:
        tenant, webhook = await h.tenant_with_webhook(
            receiver.url(), signatureScheme=SW, maxInFlight=1
        )
        new = (await _rotate(h, tenant, webhook["id"]))["secret"]
        for _ in range(3):
            accepted = await h.client.post(
                "/v1/events", json=app_event(), headers=tenant.ingest_headers
            )
            assert accepted.status_code == 202, accepted.text
        requests = await receiver.wait_for(3, timeout=30)
    assert len({r.headers["webhook-id"] for r in requests}) == 3
    for request in requests:
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert _verifies(webhook["secret"], request) and _verifies(new, request)
