"""PostgreSQL stopped and started again under load, on a private instance (the shared
server serves the other suites): an API process and a worker process against it,
events ingested all the while. While the database is away the API answers 503 with
the JSON error shape (never 500); both processes reconnect by themselves; every event
answered 202 is delivered at least once.
"""

import asyncio
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.db.migrate import upgrade_to_head
from tests.conftest import make_settings
from tests.faults.private_pg import find_bin, private_postgres
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook
from tests.support.receiver import Receiver
from tests.support.server import serve_process
from tests.support.workers import arrived_event_ids, kill, start_worker, wait_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

DOWN_SECONDS = 2.0


@dataclass
class Feeder:
    """Posts batches of 5 events back to back, remembering every answer."""

    client: httpx.AsyncClient
    tenant: Tenant
    accepted: set[str] = field(default_factory=set)
    answers: list[tuple[float, int, Any]] = field(default_factory=list)  # (when, status, body)
    stopping: bool = False

    async def run(self) -> None:
        n = 0
        while not self.stopping:
            events = [app_event(user_id=f"u{n + i}") for i in range(5)]
            n += 5
            response = await self.client.post(
                "/v1/events/batch", json={"events": events}, headers=self.tenant.ingest_headers
            )
            body = response.json()
            self.answers.append((time.monotonic(), response.status_code, body))
            if response.status_code == 202:
                self.accepted.update(body["ids"])
            await asyncio.sleep(0.05)

    def between(self, start: float, end: float) -> list[tuple[int, Any]]:
        return [(status, body) for at, status, body in self.answers if start <= at <= end]


async def test_postgres_restart_loses_no_accepted_event() -> None:
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    async with private_postgres(bin_dir) as pg, Receiver() as receiver:
        url = await pg.create_database("hookline")
        await asyncio.to_thread(upgrade_to_head, url)
        settings = make_settings(url, allow_private_targets=True, log_level="WARNING")
        async with (
            serve_process(settings) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            tenant = await new_tenant(client, "Restart")
            await new_webhook(client, tenant, url=receiver.url())
            worker = await start_worker(url, delivery_timeout_seconds=2, lease_seconds=10)
            feeder = Feeder(client, tenant)
            feeding = asyncio.create_task(feeder.run())
            try:
                await receiver.wait_for(50, timeout=30)
                await pg.stop("fast")
                down_at = time.monotonic()
                await asyncio.sleep(DOWN_SECONDS)
                up_at = time.monotonic()
                await pg.start()
                restarted_at = time.monotonic()
                await asyncio.sleep(4)  # ingest goes on once the API has reconnected
                feeder.stopping = True
                await asyncio.wait_for(feeding, 30)
                await wait_all(receiver, feeder.accepted, timeout=60)
            finally:
                feeder.stopping = True
                code = await kill(worker, signal.SIGTERM)

    while_down = feeder.between(down_at, up_at)
    after = feeder.between(restarted_at + 1, time.monotonic())
    statuses = sorted({status for _, status, _ in feeder.answers})
    arrived = set(arrived_event_ids(receiver))
    print(
        f"\nPostgreSQL restart: {len(feeder.answers)} requests, statuses {statuses}; "
        f"{len(while_down)} while down; {len(feeder.accepted)} accepted, all arrived: "
        f"{feeder.accepted <= arrived}"
    )
    assert set(statuses) <= {202, 503}  # an outage is never a 500
    assert while_down and all(status == 503 for status, _ in while_down)
    for _, body in while_down:
        assert body["error"]["code"] == "service_unavailable", body
        assert isinstance(body["error"]["message"], str)
    assert any(status == 202 for status, _ in after)  # the API reconnected by itself
    assert feeder.accepted <= arrived  # ... and the worker too: nothing accepted was lost
    assert code == 0
