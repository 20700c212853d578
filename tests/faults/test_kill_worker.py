"""Kill -9 of one of three workers mid-run (PostgreSQL): the two others carry on and the
killed worker's claims come back when their lease runs out, so every accepted event
arrives at least once. (A single killed worker and three healthy workers are covered
in tests/dispatch/test_workers.py; this is the combination.)
"""

import asyncio
import signal

import pytest

from tests.support.factories import new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.workers import api, arrived_event_ids, ingest, kill, start_worker, wait_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

EVENTS = 1500


async def test_one_of_three_workers_killed_loses_nothing(pg_url: str) -> None:
    # Replies take 2 s: once 192 requests (3 workers x 64 slots) have arrived, every
    # worker has all its slots busy, and the kill lands well before any reply.
    slow = Receiver(default=Reply(200, delay=2.0))
    async with slow as receiver, api(pg_url) as client:
        tenant = await new_tenant(client, "Three")
        await new_webhook(client, tenant, url=receiver.url())
        # A short lease (the 4 s timeout + 5 s): the victim's claims return quickly.
        workers = await asyncio.gather(
            *(start_worker(pg_url, lease_seconds=5, delivery_timeout_seconds=4) for _ in range(3))
        )
        victim, survivors = workers[0], workers[1:]
        accepted: set[str] = set()
        try:
            for start in range(0, EVENTS // 2, 150):
                accepted.update(await ingest(client, tenant, start, 150))
            await receiver.wait_for(3 * 64, timeout=30)
            assert await kill(victim) == -signal.SIGKILL  # claims in flight, results unwritten
            arrived_at_kill = len(receiver.requests)
            for start in range(EVENTS // 2, EVENTS, 150):
                accepted.update(await ingest(client, tenant, start, 150))
            await wait_all(receiver, accepted, timeout=60)
        finally:
            codes = [await kill(worker, signal.SIGTERM) for worker in survivors]
            await kill(victim)
        arrived = arrived_event_ids(receiver)
        print(
            f"\nkill -9 of 1 of 3 workers after {arrived_at_kill} arrivals: "
            f"{len(set(arrived))} of {EVENTS} events arrived, "
            f"{len(arrived) - len(set(arrived))} more than once"
        )
        assert arrived_at_kill < EVENTS
        assert len(arrived) > len(set(arrived))  # the victim's sent claims were sent again
        assert set(arrived) == accepted
        assert len(accepted) == EVENTS
        assert codes == [0, 0]
