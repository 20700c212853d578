"""Fairness: an endpoint that hangs until the timeout, with 500 deliveries queued for
it, neither holds the dispatcher nor keeps a healthy endpoint's later events from
being claimed (issues 4 and 11). The dispatcher runs in-process, on SQLite and on
PostgreSQL. Behaviour only (latency figures are `bench/`'s): every healthy event
arrives exactly once while the hanging endpoint's backlog is still queued, and the
hanging endpoint narrows itself (adaptive limit, then its breaker) instead of taking
its backlog's worth of slots.
"""

import json

import pytest

from tests.dispatch.helpers import dispatching
from tests.faults.helpers import trickle
from tests.support.factories import app_event
from tests.support.receiver import Receiver, Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

TIMEOUT = 2.0
QUEUED = 500
RATE, SECONDS = 20, 5


async def test_hanging_endpoint_does_not_delay_a_healthy_one(database_url: str) -> None:
    # Replies a second after the client gave up: every attempt is a timeout.
    hanging = Receiver(default=Reply(200, delay=TIMEOUT + 1))
    async with (
        Receiver() as healthy,
        hanging,
        dispatching(database_url, delivery_timeout_seconds=TIMEOUT, log_level="WARNING") as h,
    ):
        good, _ = await h.tenant_with_webhook(healthy.url(), "Healthy")
        baseline = await trickle(h.client, good, healthy, rate=RATE, seconds=SECONDS, tag="b")

        slow, _ = await h.tenant_with_webhook(hanging.url(), "Hanging")
        for start in range(0, QUEUED, 250):
            events = [app_event(user_id=f"h{i}") for i in range(start, start + 250)]
            response = await h.client.post(
                "/v1/events/batch", json={"events": events}, headers=slow.ingest_headers
            )
            assert response.status_code == 202, response.text
        await hanging.wait_for(1, timeout=10)  # it holds slots now

        loaded = await trickle(h.client, good, healthy, rate=RATE, seconds=SECONDS, tag="l")
        hung = len(hanging.requests)

    print(f"\nfairness [{database_url.split(':')[0]}] baseline: {baseline}")
    print(
        f"fairness [{database_url.split(':')[0]}] with {QUEUED} queued for a hanging endpoint"
        f" ({hung} attempts reached it): {loaded}"
    )
    loaded_arrivals = [r for r in healthy.requests if json.loads(r.body)["userId"][0] == "l"]
    assert loaded.count == len(loaded_arrivals) == RATE * SECONDS  # each exactly once, while

    assert hung < QUEUED // 5  # ... the hanging endpoint's backlog stayed queued
