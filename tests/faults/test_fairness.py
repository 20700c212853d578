"""Fairness: an endpoint that hangs until the timeout, with 500 deliveries queued for
it, does not delay a healthy endpoint (issue 4). The dispatcher runs in-process, on
SQLite and on PostgreSQL; the healthy endpoint's baseline is measured first, in the
same run, without the hanging one.
"""

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
        concurrency = h.app.state.settings.endpoint_concurrency
        await hanging.wait_for(concurrency, timeout=10)  # its slots are all taken

        loaded = await trickle(h.client, good, healthy, rate=RATE, seconds=SECONDS, tag="l")
        hung = len(hanging.requests)

    bound = max(5 * baseline.p99, 500.0)
    print(f"\nfairness [{database_url.split(':')[0]}] baseline: {baseline}")
    print(
        f"fairness [{database_url.split(':')[0]}] with {QUEUED} queued for a hanging endpoint"
        f" ({hung} attempts reached it): {loaded}; bound p99 < {bound:.0f} ms"
    )
    assert hung >= concurrency  # the hanging endpoint really was busy throughout
    assert hung < QUEUED  # ... and its backlog was still there while we measured
    assert loaded.p99 < bound
