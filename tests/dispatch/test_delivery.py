"""The dispatcher against a real receiver on loopback, on SQLite and PostgreSQL.

Retries are driven by moving the dispatcher's clock and waking it: no real waiting.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from app import __version__
from tests.dispatch.helpers import Harness, dispatching
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.timeout(60)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _ingest_one(h: Harness, receiver: Receiver) -> tuple[Tenant, dict[str, Any], str]:
    tenant, webhook = await h.tenant_with_webhook(receiver.url())
    response = await h.client.post("/v1/events", json=app_event(), headers=tenant.ingest_headers)
    assert response.status_code == 202, response.text
    assert response.json()["deliveries"] == 1
    [delivery] = await h.deliveries(tenant, webhook["id"])
    return tenant, webhook, delivery["id"]


async def test_delivers_signed_canonical_body(database_url: str) -> None:
    async with Receiver() as receiver, dispatching(database_url) as h:
        tenant, webhook, delivery_id = await _ingest_one(h, receiver)
        [request] = await receiver.wait_for(1)
        detail = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "succeeded")

        secret = (
            await h.client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
        ).json()["secret"]
        assert request.signature_ok(secret)
        headers = request.headers
        assert headers["Content-Type"] == "application/json"
        assert headers["x-webhook-id"] == delivery_id
        assert headers["x-webhook-event"] == "desktop.app_tracking.captured"
        assert headers["User-Agent"] == f"Hookline/{__version__}"
        assert headers["x-webhook-timestamp"].isdigit()
        event = (
            await h.client.get(f"/v1/events/{detail['eventId']}", headers=tenant.headers)
        ).json()
        assert list(event["payload"]) == [
            "event", "version", "agent", "timestamp", "eventId", "simulation",
            "parentOrganisation", "organisation", "userId", "teamId", "data",
        ]  # fmt: skip
        assert request.body.startswith(b'{"event":"desktop.app_tracking.captured","version":"v1"')
        [attempt] = detail["attempts"]
        assert attempt["statusCode"] == 200
        assert attempt["responseBody"] == "ok"
        assert attempt["error"] is None
        assert detail["attemptCount"] == 1
        assert detail["nextAttemptAt"] is None


async def test_retries_on_schedule_then_succeeds(database_url: str) -> None:
    receiver = Receiver().then(Reply(500, body=b"boom"), Reply(502))
    async with receiver, dispatching(database_url, retry_schedule=(5, 30, 120)) as h:
        tenant, _, delivery_id = await _ingest_one(h, receiver)
        first = await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        assert first["status"] == "pending"
        assert first["lastStatusCode"] == 500
        [attempt] = first["attempts"]
        assert attempt["responseBody"] == "boom"
        delay = _at(first["nextAttemptAt"]) - _at(attempt["attemptedAt"])
        assert timedelta(seconds=5) <= delay < timedelta(seconds=6)

        h.advance(3)  # not yet due: nothing happens
        await asyncio.sleep(0.3)
        assert (await h.delivery(tenant, delivery_id))["attemptCount"] == 1
        h.advance(3)
        second = await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 2)
        delay = _at(second["nextAttemptAt"]) - _at(second["attempts"][1]["attemptedAt"])
        assert timedelta(seconds=30) <= delay < timedelta(seconds=31)

        h.advance(31)
        done = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "succeeded")
        assert [a["statusCode"] for a in done["attempts"]] == [500, 502, 200]
        assert len(receiver.requests) == 3
        # Same delivery id and body on every attempt, each signed with its own timestamp.
        assert {r.headers["x-webhook-id"] for r in receiver.requests} == {delivery_id}
        assert len({r.body for r in receiver.requests}) == 1
        assert len({r.headers["x-webhook-timestamp"] for r in receiver.requests}) == 3


async def test_fails_after_the_last_attempt_and_retry_revives(database_url: str) -> None:
    receiver = Receiver(default=Reply(404))
    async with receiver, dispatching(database_url, retry_schedule=(1, 1)) as h:
        tenant, _, delivery_id = await _ingest_one(h, receiver)
        await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        h.advance(2)
        await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 2)
        h.advance(2)
        failed = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "failed")
        assert failed["attemptCount"] == 3
        assert failed["nextAttemptAt"] is None
        assert failed["lastError"]

        h.advance(3600)
        receiver.default = Reply(204, body=b"")
        response = await h.client.post(
            f"/v1/deliveries/{delivery_id}/retry", headers=tenant.headers
        )
        assert response.status_code == 202
        revived = await h.wait_delivery(tenant, delivery_id, lambda d: d["status"] == "succeeded")
        assert revived["attemptCount"] == 4
        assert len(receiver.requests) == 4


def _attempts_are(count: int) -> Callable[[dict[str, Any]], bool]:
    return lambda detail: bool(detail["attemptCount"] == count)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_and_clamped(database_url: str, status: int) -> None:
    receiver = Receiver().then(Reply(status, headers={"Retry-After": "120"}))
    overrides = {"retry_schedule": (5, 5, 5, 5), "retry_after_max_seconds": 900}
    async with receiver, dispatching(database_url, **overrides) as h:
        tenant, _, delivery_id = await _ingest_one(h, receiver)
        # 1: delta-seconds, from the attempt; 2: an HTTP date, the very time it names (however
        # late a loaded machine ran the attempt); 3: a delta beyond the maximum, clamped.
        named = h.clock()
        for number, delta_bounds in ((1, (120, 121)), (2, None), (3, (900, 901))):
            detail = await h.wait_delivery(tenant, delivery_id, _attempts_are(number))
            attempted = _at(detail["attempts"][-1]["attemptedAt"])
            next_at = _at(detail["nextAttemptAt"])
            if delta_bounds is None:
                assert abs((next_at - named).total_seconds()) < 1, (next_at, named)
            else:
                delay = (next_at - attempted).total_seconds()
                assert delta_bounds[0] <= delay < delta_bounds[1], (number, delay)
            if number == 1:
                named = (h.clock() + timedelta(seconds=122 + 600)).replace(microsecond=0)
                date = format_datetime(named, usegmt=True)
                receiver.then(Reply(status, headers={"Retry-After": date}))
            else:
                receiver.then(Reply(status, headers={"Retry-After": "999999"}))
            h.advance(122 if number == 1 else 1000)


async def test_timeout_is_a_failed_attempt(database_url: str) -> None:
    receiver = Receiver().then(Reply(200, delay=5))
    async with receiver, dispatching(database_url, delivery_timeout_seconds=0.3) as h:
        tenant, _, delivery_id = await _ingest_one(h, receiver)
        detail = await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        [attempt] = detail["attempts"]
        assert detail["status"] == "pending"
        assert attempt["statusCode"] is None
        assert attempt["error"].startswith("timeout")
        assert attempt["latencyMs"] < 2000


async def test_redirect_is_not_followed(database_url: str) -> None:
    receiver = Receiver().then(Reply(302, headers={"Location": "/elsewhere"}))
    async with receiver, dispatching(database_url) as h:
        tenant, _, delivery_id = await _ingest_one(h, receiver)
        detail = await h.wait_delivery(tenant, delivery_id, lambda d: d["attemptCount"] == 1)
        assert detail["status"] == "pending"
        assert detail["lastStatusCode"] == 302
        assert "redirect" in detail["lastError"]
        assert [r.path for r in receiver.requests] == ["/hook"]


async def test_unreachable_endpoint_is_a_failed_attempt(database_url: str) -> None:
    receiver = await Receiver().start()
    url = receiver.url()
    await receiver.stop()  # nothing listens on that port any more
    async with dispatching(database_url) as h:
        tenant, _ = await h.tenant_with_webhook(url)
        response = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert response.status_code == 202
        [delivery] = await h.deliveries(tenant, _["id"])
        detail = await h.wait_delivery(tenant, delivery["id"], lambda d: d["attemptCount"] == 1)
        assert detail["attempts"][0]["error"].startswith("connect")


async def test_breaker_pauses_a_failing_endpoint_then_a_probe_reopens_it(
    database_url: str,
) -> None:
    """Three failures in a row pause the endpoint: its other deliveries wait, untouched;
    after the cooldown one probe goes out, and its success lets the backlog through."""
    receiver = Receiver(default=Reply(500))
    settings = {"breaker_failures": 3, "breaker_cooldown_seconds": 30}
    async with receiver, dispatching(database_url, **settings) as h:
        tenant, webhook = await h.tenant_with_webhook(receiver.url(), maxInFlight=1)
        events = [app_event(user_id=f"u{i}") for i in range(10)]
        response = await h.client.post(
            "/v1/events/batch", json={"events": events}, headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
        await receiver.wait_for(3)
        h.advance(6)  # the failed ones' first retry (5 s) is due, but the endpoint is paused
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 3
        deliveries = await h.deliveries(tenant, webhook["id"])
        assert sorted(d["attemptCount"] for d in deliveries) == [0] * 7 + [1] * 3
        assert {d["status"] for d in deliveries} == {"pending"}

        receiver.default = Reply(200)
        h.advance(30)  # the pause is over: one probe, then everything
        async with asyncio.timeout(15):
            while {d["status"] for d in await h.deliveries(tenant, webhook["id"])} != {"succeeded"}:
                await asyncio.sleep(0.1)
        assert len(receiver.requests) == 13  # 3 failures, then each of the 10 once
