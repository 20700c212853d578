"""Operating deliveries through the real dispatcher and a real receiver, on both databases:
a failed backlog recovered is delivered; each attempt's kind, request headers (as sent,
signature included, never the secret) and webhook are recorded by the result writer
(SQLAlchemy on SQLite, the asyncpg statement on PostgreSQL) and counted by the stats."""

import json
from datetime import timedelta

import pytest

from app.kit.time import iso, utc_now
from tests.dispatch.helpers import dispatching
from tests.support.factories import app_event
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.timeout(60)


async def test_a_recovered_backlog_is_delivered(database_url: str) -> None:
    receiver = Receiver(default=Reply(503, body=b"down"))
    async with receiver, dispatching(database_url, retry_schedule=(1,)) as h:
        tenant, webhook = await h.tenant_with_webhook(receiver.url())
        since = iso(utc_now() - timedelta(minutes=1))
        for n in range(3):
            response = await h.client.post(
                "/v1/events", json=app_event(user_id=f"u{n}"), headers=tenant.ingest_headers
            )
            assert response.status_code == 202
        ids = [d["id"] for d in await h.deliveries(tenant, webhook["id"])]
        for delivery_id in ids:
            await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        h.advance(2)
        for delivery_id in ids:
            await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "failed")
        assert len(receiver.requests) == 6

        receiver.default = Reply(200)  # the receiver is fixed
        response = await h.client.post(
            f"/v1/webhooks/{webhook['id']}/recover", json={"since": since}, headers=tenant.headers
        )
        assert response.status_code == 202, response.text
        assert (response.json()["matched"], response.json()["queued"]) == (3, 3)
        for delivery_id in ids:
            done = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "succeeded")
            assert [a["statusCode"] for a in done["attempts"]] == [503, 503, 200]
            assert [a["kind"] for a in done["attempts"]] == ["http_error", "http_error", "success"]
            assert done["attemptCount"] == 3
        assert len(receiver.requests) == 9
        again = await h.client.post(
            f"/v1/webhooks/{webhook['id']}/recover", json={"since": since}, headers=tenant.headers
        )
        assert (again.json()["matched"], again.json()["queued"]) == (0, 0)

        stats = (
            await h.client.get(
                f"/v1/webhooks/{webhook['id']}/stats",
                params={"window": "1h"},
                headers=tenant.headers,
            )
        ).json()
        assert (stats["attempts"], stats["successes"]) == (9, 3)
        assert stats["failures"] == {"timeout": 0, "networkError": 0, "httpError": 6, "refused": 0}
        assert sum(b["attempts"] for b in stats["series"]) == 9


async def test_attempts_show_the_headers_sent_never_the_secret(database_url: str) -> None:
    async with Receiver() as receiver, dispatching(database_url) as h:
        tenant, webhook = await h.tenant_with_webhook(receiver.url())
        response = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert response.status_code == 202
        [delivery] = await h.deliveries(tenant, webhook["id"])
        detail = await h.wait_delivery(tenant, delivery["id"], lambda d: d["status"] == "succeeded")
        [request] = receiver.requests
        [attempt] = detail["attempts"]
        sent = attempt["requestHeaders"]
        for name in (
            "x-webhook-id",
            "x-webhook-event",
            "x-webhook-timestamp",
            "x-webhook-signature",
        ):
            assert sent[name] == request.headers[name], name
        assert sent["content-type"] == "application/json"
        secret = (
            await h.client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
        ).json()["secret"]
        assert request.signature_ok(secret)
        # nowhere in the log, nor in the list
        listing = await h.client.get("/v1/deliveries", headers=tenant.headers)
        assert secret not in json.dumps(detail) and secret not in listing.text
        assert attempt["kind"] == "success"
