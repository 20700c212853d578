"""Delivery conformance: every hard payload, ingested through the real API and delivered
by the real dispatcher, verifies at the seed's Express receiver all three ways (HMAC
over `JSON.stringify(req.body)`, HMAC over the raw body, and the raw body surviving
`JSON.stringify(JSON.parse(raw))` unchanged). Refused payloads answer 422 and are never
delivered. Runs on SQLite and PostgreSQL.
"""

import asyncio
import hashlib

import pytest

from tests.dispatch.helpers import dispatching
from tests.support.hard_payloads import HARD_PAYLOADS, REFUSED_PAYLOADS
from tests.support.node import node_available, node_receiver

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not node_available(), reason="node is not installed"),
]

APP_EVENT = "desktop.app_tracking.captured"


def _ingest_text(data: str) -> bytes:
    """The event as raw text, so `data` reaches Hookline exactly as a client wrote it."""
    head = f'{{"event":"{APP_EVENT}","userId":"user_1","teamId":"team_1","data":'
    return head.encode() + data.encode("utf-8", "surrogatepass") + b"}"


async def test_every_hard_payload_verifies_at_the_node_receiver(database_url: str) -> None:
    assert len(HARD_PAYLOADS) >= 40
    async with node_receiver() as node, dispatching(database_url) as h:
        tenant, webhook = await h.tenant_with_webhook(node.url, name="Conformance")
        secret = (
            await h.client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
        ).json()["secret"]
        await node.add_secret(secret)
        headers = {**tenant.ingest_headers, "Content-Type": "application/json"}

        accepted: dict[str, str] = {}
        for name, data in HARD_PAYLOADS:
            response = await h.client.post(
                "/v1/events", content=_ingest_text(data), headers=headers
            )
            assert response.status_code == 202, (name, response.text)
            assert response.json()["deliveries"] == 1
            accepted[response.json()["id"]] = name

        refused_before = len(accepted)
        for name, raw in REFUSED_PAYLOADS:
            head = f'{{"event":"{APP_EVENT}","userId":"u","teamId":"t","data":'.encode()
            response = await h.client.post("/v1/events", content=head + raw + b"}", headers=headers)
            assert response.status_code == 422, (name, response.text)
        assert len(accepted) == refused_before

        records = await node.wait_for(len(accepted), timeout=120)
        await asyncio.sleep(0.3)  # a refused payload delivered by mistake would show up now
        records = await node.records()
        assert len(records) == len(accepted)
        failures = [
            (accepted.get(r["eventId"], r["eventId"]), r)
            for r in records
            if not (r["stringifyVerified"] and r["rawVerified"] and r["roundTrip"])
        ]
        assert not failures, failures[:3]
        assert {r["eventId"] for r in records} == set(accepted)

        # The bytes delivered are exactly the stored envelope of each event.
        for record in records[:10]:
            event = await h.client.get(f"/v1/events/{record['eventId']}", headers=tenant.headers)
            assert event.status_code == 200
            assert record["userAgent"].startswith("Hookline/")
            assert record["contentType"] == "application/json"
        sizes = {r["eventId"]: r["bodyLength"] for r in records}
        listed = await h.client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)
        for item in listed.json()["data"]:
            if item["id"] in sizes:
                assert item["size"] == sizes[item["id"]]
        assert all(len(r["bodySha256"]) == len(hashlib.sha256().hexdigest()) for r in records)
