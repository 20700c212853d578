"""Delivery engine v2 against real receivers, on SQLite and PostgreSQL: hostile replies
never stop another tenant's results, an in-flight delivery is never doubled, a cancel
and a late result resolve one way, and a batch that cannot be written is written one
by one. Behaviour only: no assertion on elapsed time."""

import asyncio
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.dispatch.claim import Claimer
from app.dispatch.results import Outcome, ResultWriter
from app.egress.sender import AttemptKind
from app.models import Delivery, DeliveryAttempt
from tests.dispatch.helpers import Harness, dispatching
from tests.support.factories import app_event
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.timeout(60)

SCHEDULE = (5, 5)  # three attempts, then failed

HOSTILE = {
    "huge_retry_after": Reply(503, headers={"Retry-After": "9" * 5000}),
    "non_ascii_digits": Reply(429, headers={"Retry-After": "\u00b2\u00b3"}),
    "nul_and_surrogates": Reply(500, body=b"bad \x00 bytes \xed\xa0\x80 and \xff" * 300),
    "header_4k": Reply(503, headers={"X-Padding": "p" * 4096, "Retry-After": "1"}),
}


async def _ingest(h: Harness, tenant: Any, users: list[str]) -> None:
    events = [app_event(user_id=u) for u in users]
    response = await h.client.post(
        "/v1/events/batch", json={"events": events}, headers=tenant.ingest_headers
    )
    assert response.status_code == 202, response.text


async def _settled(h: Harness, tenant: Any, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """Deliveries of a webhook once none is pending with fewer attempts than `count`."""
    async with asyncio.timeout(30):
        while True:
            rows = await h.deliveries(tenant, webhook_id)
            if all(d["status"] != "pending" or d["attemptCount"] >= count for d in rows):
                return rows
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("reply", list(HOSTILE), ids=list(HOSTILE))
async def test_a_hostile_reply_never_stops_another_tenants_results(
    database_url: str, reply: str
) -> None:
    async with (
        Receiver(default=HOSTILE[reply]) as hostile,
        Receiver() as healthy,
        dispatching(database_url, retry_schedule=SCHEDULE) as h,
    ):
        bad, bad_hook = await h.tenant_with_webhook(hostile.url(), "Hostile")
        good, good_hook = await h.tenant_with_webhook(healthy.url(), "Good")
        # Ingested together so both tenants' results share the writer's batches.
        await asyncio.gather(
            _ingest(h, bad, [f"b{i}" for i in range(3)]),
            _ingest(h, good, [f"g{i}" for i in range(6)]),
        )
        delivered = await _settled(h, good, good_hook["id"], 1)
        assert [d["status"] for d in delivered] == ["succeeded"] * 6
        assert all(d["attemptCount"] == 1 for d in delivered)
        for attempt in range(1, 4):  # the hostile deliveries follow their schedule ...
            rows = await _settled(h, bad, bad_hook["id"], attempt)
            if attempt < 3:
                h.advance(3600)  # past any Retry-After the receiver could make stick
        assert [d["status"] for d in rows] == ["failed"] * 3  # ... to the end
        detail = await h.delivery(bad, rows[0]["id"])
        assert [a["statusCode"] for a in detail["attempts"]] == [HOSTILE[reply].status] * 3
        if reply == "nul_and_surrogates":
            excerpt = detail["attempts"][0]["responseBody"]
            assert "\x00" not in excerpt and excerpt.startswith("bad \ufffd bytes \ufffd")
    arrivals = [json.loads(r.body)["userId"] for r in healthy.requests]
    assert sorted(arrivals) == [f"g{i}" for i in range(6)]  # each exactly once


async def test_retry_of_an_in_flight_delivery_is_refused_never_doubled(database_url: str) -> None:
    async with (
        Receiver(default=Reply(200, delay=1.0)) as receiver,
        dispatching(database_url) as h,
    ):
        tenant, webhook = await h.tenant_with_webhook(receiver.url())
        await _ingest(h, tenant, ["u1"])
        await receiver.wait_for(1)  # the attempt is under way
        [delivery] = await h.deliveries(tenant, webhook["id"])
        retried = await h.client.post(
            f"/v1/deliveries/{delivery['id']}/retry", headers=tenant.headers
        )
        assert retried.status_code == 409, retried.text
        assert retried.json()["error"]["code"] == "conflict"
        await h.wait_delivery(tenant, delivery["id"], lambda d: d["status"] == "succeeded")
        again = await h.client.post(
            f"/v1/deliveries/{delivery['id']}/retry", headers=tenant.headers
        )
        assert again.status_code == 202, again.text
        await h.wait_delivery(tenant, delivery["id"], lambda d: d["attemptCount"] == 2)
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert second.at >= first.at + 1.0  # the second POST began after the first was answered


@pytest.mark.parametrize(("status", "final"), [(200, "succeeded"), (500, "cancelled")])
async def test_a_cancel_and_a_late_result_resolve_one_way(
    database_url: str, status: int, final: str
) -> None:
    async with (
        Receiver(default=Reply(status, delay=1.0)) as receiver,
        dispatching(database_url, retry_schedule=(1,)) as h,
    ):
        tenant, webhook = await h.tenant_with_webhook(receiver.url())
        await _ingest(h, tenant, ["u1"])
        await receiver.wait_for(1)
        disabled = await h.client.patch(
            f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
        )
        assert disabled.status_code == 200, disabled.text
        [delivery] = await h.deliveries(tenant, webhook["id"])
        assert delivery["status"] == "cancelled" and delivery["nextAttemptAt"] is None
        detail = await h.wait_delivery(tenant, delivery["id"], lambda d: d["attemptCount"] == 1)
        assert detail["status"] == final
        assert [a["statusCode"] for a in detail["attempts"]] == [status]
        h.advance(60)  # a retry would be due by now: there is none
        await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1


async def test_a_batch_that_cannot_be_written_is_written_one_by_one(database_url: str) -> None:
    async with dispatching(database_url, dispatcher="off") as h:
        tenant, webhook = await h.tenant_with_webhook("http://127.0.0.1:9/unused")
        await _ingest(h, tenant, [f"u{i}" for i in range(5)])
        settings = h.app.state.settings
        claimer = Claimer(
            h.app.state.sessionmaker, postgres=not settings.is_sqlite, lease=timedelta(60)
        )
        now = h.clock()
        claimed = await claimer.claim(now=now, limit=10, default_budget=10, budgets={})
        assert len(claimed.jobs) == 5
        outcomes = [
            Outcome(
                job=job,
                kind=AttemptKind.SUCCESS,
                attempted_at=now,
                finished_at=now,
                latency_ms=3,
                status_code=200,
                response_body="ok",
            )
            for job in claimed.jobs
        ]
        # Not sanitised on purpose: neither database can store a lone surrogate.
        outcomes[2] = Outcome(
            job=claimed.jobs[2],
            kind=AttemptKind.HTTP_ERROR,
            attempted_at=now,
            finished_at=now,
            latency_ms=3,
            status_code=500,
            response_body="bad \ud800",
            error="http: endpoint answered 500",
        )
        writer = ResultWriter(h.app.state.sessionmaker, settings, rng=random.Random(1))
        await writer.write(outcomes)
        async with h.app.state.sessionmaker() as session:
            mine = select(Delivery).where(Delivery.webhook_id == webhook["id"])
            rows = {d.id: d for d in (await session.execute(mine)).scalars()}
            attempts = list(
                (
                    await session.execute(
                        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(rows))
                    )
                ).scalars()
            )
    offending = claimed.jobs[2].delivery_id
    assert {d.status for i, d in rows.items() if i != offending} == {"succeeded"}
    assert rows[offending].status == "pending" and rows[offending].attempt_count == 1
    assert len(attempts) == 5
    [stripped] = [a for a in attempts if a.delivery_id == offending]
    assert stripped.response_body is None
    assert stripped.error is not None and "could not be recorded" in stripped.error
