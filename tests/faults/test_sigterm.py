"""SIGTERM drains cleanly: a `python -m app worker` with deliveries in flight to a slow
receiver stops claiming, records what finishes within the grace, releases the rest
(unowned, due now) and exits 0; a second worker then delivers everything (PostgreSQL).
"""

import signal
import time

import asyncpg
import pytest

from app.dispatch.listen import asyncpg_dsn
from tests.support.factories import new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.workers import api, arrived_event_ids, ingest, kill, start_worker, wait_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

EVENTS = 120
GRACE = 1.0
# Replies take 0.6-1.4 s: at SIGTERM some attempts end within the grace, some do not.
SLOW = [Reply(200, delay=0.6 + 0.2 * (i % 5)) for i in range(EVENTS)]
STATES = """
    SELECT d.id, d.status, d.lease_token, d.attempt_count, d.next_attempt_at <= now() AS due
    FROM deliveries d WHERE d.webhook_id = $1
"""


async def test_sigterm_records_or_releases_every_claim(pg_url: str) -> None:
    async with Receiver().then(*SLOW) as receiver, api(pg_url) as client:
        tenant = await new_tenant(client, "Drain")
        webhook = await new_webhook(client, tenant, url=receiver.url())
        # A lease of a minute: a claim left behind would hold its row far past this test.
        first = await start_worker(
            pg_url,
            delivery_timeout_seconds=5,
            lease_seconds=60,
            shutdown_grace_seconds=GRACE,
        )
        accepted = set(await ingest(client, tenant, 0, EVENTS))
        # The 25th reply takes 1.4 s: at least that attempt outlives the grace.
        await receiver.wait_for(25, timeout=30)
        stopped_at = time.monotonic()
        code = await kill(first, signal.SIGTERM)
        took = time.monotonic() - stopped_at
        sent = {r.headers["x-webhook-id"] for r in receiver.requests}

        connection = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:
            rows = await connection.fetch(STATES, webhook["id"])
        finally:
            await connection.close()
        leased = [r["id"] for r in rows if r["lease_token"] is not None]
        recorded = [r for r in rows if r["status"] == "succeeded"]
        released = [r for r in rows if r["id"] in sent and r["status"] == "pending"]
        print(
            f"\nSIGTERM: exit {code} after {took:.2f} s (grace {GRACE} s); "
            f"{len(sent)} sent: {len(recorded)} recorded, {len(released)} released"
        )
        assert code == 0
        assert took < GRACE + 5
        assert leased == []  # nothing stays claimed by the stopped worker
        assert all(r["due"] and r["attempt_count"] == 0 for r in released)
        assert len(recorded) + len(released) == len(sent)
        assert released, "no attempt outlived the grace: the release path was not exercised"

        receiver.script.clear()  # the rest are answered at once
        second = await start_worker(pg_url, lease_seconds=60)
        try:
            await wait_all(receiver, accepted, timeout=30)  # far below the minute's lease
        finally:
            assert await kill(second, signal.SIGTERM) == 0
        assert set(arrived_event_ids(receiver)) == accepted
