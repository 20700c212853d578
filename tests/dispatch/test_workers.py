"""Worker processes on PostgreSQL: at-least-once across `kill -9`, no double delivery
between concurrent workers. Real `python -m app worker` subprocesses, a real receiver.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
EVENTS = 2000


@pytest.fixture(scope="module")
async def pg_url(databases: DatabaseFactory, pg_ready: bool) -> str:
    if not pg_ready:
        if os.environ.get("HOOKLINE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required but unreachable")
        pytest.skip("PostgreSQL unreachable")
    return await databases.fresh("postgres")


async def start_worker(
    database_url: str, lease: int = 5, timeout: float = 1
) -> asyncio.subprocess.Process:
    """A worker with a short lease (timeout + 5 s) unless the test needs a long one."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_AUTO_MIGRATE": "false",
        "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        "HOOKLINE_DELIVERY_TIMEOUT_SECONDS": str(timeout),
        "HOOKLINE_LEASE_SECONDS": str(lease),
        "HOOKLINE_POLL_INTERVAL_SECONDS": "0.5",
        "HOOKLINE_ENDPOINT_CONCURRENCY": "64",
        "HOOKLINE_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "worker",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.strip() == b"WORKER READY", line
    return process


async def kill(process: asyncio.subprocess.Process, signum: int = signal.SIGKILL) -> int:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)
    return await asyncio.wait_for(process.wait(), 30)


@contextlib.asynccontextmanager
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process with its dispatcher off: the workers do all the sending."""
    app = create_app(make_settings(database_url, allow_private_targets=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def ingest(client: httpx.AsyncClient, tenant: Tenant, start: int, count: int) -> list[str]:
    events = [app_event(user_id=f"u{i}") for i in range(start, start + count)]
    response = await client.post(
        "/v1/events/batch", json={"events": events}, headers=tenant.ingest_headers
    )
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def arrived_event_ids(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["eventId"] for r in receiver.requests]


async def wait_all(receiver: Receiver, accepted: set[str], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not accepted <= set(arrived_event_ids(receiver)):
            await asyncio.sleep(0.1)


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
        workers = await asyncio.gather(*(start_worker(pg_url, lease=120) for _ in range(3)))
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
