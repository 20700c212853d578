"""Worker processes on PostgreSQL: at-least-once across `kill -9`, no double delivery
between concurrent workers. Real `python -m app worker` subprocesses, a real receiver.
"""

import asyncio
import signal

import pytest

from tests.support.factories import new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.workers import (
    api,
    arrived_event_ids,
    ingest,
    kill,
    start_worker,
    wait_all,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

EVENTS = 2000


async def test_every_accepted_event_arrives_after_kill_9(pg_url: str) -> None:
    slow = Receiver(default=Reply(200, delay=0.05))  # so the kill lands mid-stream
    async with slow as receiver, api(pg_url) as client:
        tenant = await new_tenant(client, "Crash")
        await new_webhook(client, tenant, url=receiver.url())
        first = await start_worker(pg_url)
        accepted: set[str] = set()
        try:
            for start in range(0, EVENTS // 2, 100):
                accepted.update(await ingest(client, tenant, start, 100))
            await receiver.wait_for(100, timeout=30)
            await kill(first)  # mid-stream: claims in flight, results unwritten
            assert len(receiver.requests) < EVENTS // 2
            for start in range(EVENTS // 2, EVENTS, 100):
                accepted.update(await ingest(client, tenant, start, 100))
            second = await start_worker(pg_url)
            try:
                await wait_all(receiver, accepted, timeout=90)
            finally:
                assert await kill(second, signal.SIGTERM) == 0
        finally:
            await kill(first)
        assert len(accepted) == EVENTS


async def test_three_workers_never_double_deliver(pg_url: str) -> None:
    async with Receiver() as receiver, api(pg_url) as client:
        tenant = await new_tenant(client, "Concurrent")
        await new_webhook(client, tenant, url=receiver.url())
        # A lease far beyond any attempt: a duplicate here could only come from claiming.
        workers = await asyncio.gather(*(start_worker(pg_url, lease_seconds=120) for _ in range(3)))
        accepted: set[str] = set()
        try:
            for start in range(0, EVENTS, 200):
                accepted.update(await ingest(client, tenant, start, 200))
            await wait_all(receiver, accepted, timeout=90)
            await asyncio.sleep(1.0)  # anything duplicated would arrive by now
        finally:
            codes = [await kill(worker, signal.SIGTERM) for worker in workers]
        arrived = arrived_event_ids(receiver)
        assert len(arrived) == len(set(arrived)) == EVENTS
        assert codes == [0, 0, 0]
