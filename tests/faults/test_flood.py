"""A flood for one failing endpoint: 2,000 queued deliveries answered 500 at once (issue
7). Behaviour only (the latency it costs a healthy endpoint is measured in `bench/`):
the failing endpoint trips its breaker and then gets a probe now and then, never its
backlog, and every healthy event meanwhile arrives exactly once.

PostgreSQL; the API in-process, the dispatcher in its own worker process (the
production shape); the baseline is measured first in the same run. What protects the
healthy endpoint is the failing one's circuit breaker (`app.dispatch.breaker`): after
BREAKER_FAILURES failures its backlog waits and is probed one attempt at a time,
instead of being hammered at ~400 attempts/s on the same two cores.
"""

import asyncio
import json

import pytest

from tests.dispatch.helpers import dispatching
from tests.faults.helpers import trickle
from tests.support.factories import app_event
from tests.support.receiver import Receiver, status_receiver
from tests.support.workers import kill, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

QUEUED = 2000
RATE, SECONDS = 40, 8
BREAKER_FAILURES = 10


async def test_failing_flood_is_held_by_its_breaker(pg_url: str) -> None:
    async with (
        Receiver() as healthy,
        status_receiver(500) as failing,
        dispatching(pg_url, dispatcher="off", log_level="WARNING") as h,
    ):
        worker = await start_worker(pg_url, breaker_failures=BREAKER_FAILURES)
        good, _ = await h.tenant_with_webhook(healthy.url(), "Healthy")
        await trickle(h.client, good, healthy, rate=RATE, seconds=2, tag="w")  # warm-up
        baseline = await trickle(h.client, good, healthy, rate=RATE, seconds=SECONDS, tag="b")

        bad, _ = await h.tenant_with_webhook(failing.url(), "Failing")
        for start in range(0, QUEUED, 1000):
            events = [app_event(user_id=f"f{i}") for i in range(start, start + 1000)]
            response = await h.client.post(
                "/v1/events/batch", json={"events": events}, headers=bad.ingest_headers
            )
            assert response.status_code == 202, response.text
        async with asyncio.timeout(10):
            while await failing.count() < 10:
                await asyncio.sleep(0.05)

        print(f"\nflood baseline: {baseline}")
        before = await failing.count()
        flooded = await trickle(h.client, good, healthy, rate=RATE, seconds=SECONDS, tag="f")
        print(f"flood with {QUEUED} deliveries failing: {flooded}")
        during = await failing.count() - before
        attempted = await failing.count()
        await kill(worker)

    print(f"failed attempts during the flooded runs: {during}")
    assert attempted >= BREAKER_FAILURES  # the endpoint failed enough to trip its breaker
    # ... which then held its backlog: a probe per cooldown (5 s, doubling), not 2,000.
    assert during <= 5
    flooded_arrivals = [r for r in healthy.requests if json.loads(r.body)["userId"][0] == "f"]
    assert flooded.count == len(flooded_arrivals) == RATE * SECONDS  # each exactly once
