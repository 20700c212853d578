"""Per-webhook limits across processes: `maxInFlight` and `ratePerSecond` hold with two
worker processes on PostgreSQL (and in one process on SQLite). Counts only: the most
attempts a receiver ever had open at once, and the most arrivals in any one second."""

import asyncio

import pytest

from tests.dispatch.helpers import dispatching
from tests.support.factories import new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.workers import api, ingest, kill, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

HOLD = 0.3  # seconds each reply takes: attempts overlap unless the limit stops them


def most_at_once(receiver: Receiver, hold: float) -> int:
    """The receiver's peak of requests being answered at the same time."""
    edges = sorted(
        [(r.at, 1) for r in receiver.requests] + [(r.at + hold, -1) for r in receiver.requests]
    )
    open_, peak = 0, 0
    for _, step in edges:
        open_ += step
        peak = max(peak, open_)
    return peak


def most_in_one_second(receiver: Receiver) -> int:
    times = sorted(r.at for r in receiver.requests)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


async def _wait_count(receiver: Receiver, count: int, timeout: float) -> None:
    await receiver.wait_for(count, timeout=timeout)
    await asyncio.sleep(0.5)  # a duplicate would arrive by now


async def _through_two_workers(
    pg_url: str, receiver: Receiver, events: int, **limits: float
) -> None:
    """One webhook with `limits` on `receiver`, `events` ingested, two workers sending."""
    async with api(pg_url) as client:
        tenant = await new_tenant(client, "Limited")
        await new_webhook(client, tenant, url=receiver.url(), **limits)
        workers = await asyncio.gather(*(start_worker(pg_url) for _ in range(2)))
        try:
            await ingest(client, tenant, 0, events)
            await _wait_count(receiver, events, timeout=60)
        finally:
            for worker in workers:
                await kill(worker)


async def test_max_in_flight_holds_across_two_workers(pg_url: str) -> None:
    async with Receiver(default=Reply(200, delay=HOLD)) as receiver:
        await _through_two_workers(pg_url, receiver, 40, maxInFlight=3)
    assert len(receiver.requests) == 40
    assert most_at_once(receiver, HOLD) <= 3
    assert most_at_once(receiver, HOLD) >= 2  # the limit, not a lack of work, held it


async def test_rate_per_second_holds_across_two_workers(pg_url: str) -> None:
    async with Receiver() as receiver:
        await _through_two_workers(pg_url, receiver, 25, ratePerSecond=5)
    assert len(receiver.requests) == 25
    # A full bucket holds one second of tokens: at most 5 + 5 in any one second.
    assert most_in_one_second(receiver) <= 10
    first, last = receiver.requests[0].at, receiver.requests[-1].at
    assert last - first >= (25 - 10) / 5  # 25 deliveries at 5/s cannot be quicker


async def test_max_in_flight_holds_in_one_process(database_url: str) -> None:
    async with (
        Receiver(default=Reply(200, delay=HOLD)) as receiver,
        dispatching(database_url) as h,
    ):
        tenant, _ = await h.tenant_with_webhook(receiver.url(), maxInFlight=2)
        await ingest(h.client, tenant, 0, 20)
        await _wait_count(receiver, 20, timeout=60)
    assert most_at_once(receiver, HOLD) == 2


async def test_limits_are_validated_and_removable(database_url: str) -> None:
    async with dispatching(database_url, dispatcher="off") as h:
        tenant, webhook = await h.tenant_with_webhook("http://127.0.0.1:9/x", ratePerSecond=2.5)
        assert (webhook["maxInFlight"], webhook["ratePerSecond"]) == (None, 2.5)
        path = f"/v1/webhooks/{webhook['id']}"
        bad = await h.client.patch(
            path, json={"maxInFlight": 0, "ratePerSecond": -1}, headers=tenant.headers
        )
        assert bad.status_code == 422
        assert {"maxInFlight", "ratePerSecond"} <= set(bad.json()["error"]["fields"])
        changed = await h.client.patch(
            path, json={"maxInFlight": 4, "ratePerSecond": None}, headers=tenant.headers
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["maxInFlight"], changed.json()["ratePerSecond"]) == (4, None)
        kept = await h.client.patch(path, json={"name": "Renamed"}, headers=tenant.headers)
        assert kept.json()["maxInFlight"] == 4  # absent leaves a limit as it is
