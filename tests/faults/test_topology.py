"""The production topology of compose.yaml as real processes on loopback: PostgreSQL, Redis,
two API processes (`python -m app serve`, dispatcher off) and two `python -m app worker`
processes delivering to a real receiver.

Phase one: events accepted by both APIs are delivered exactly once each, and the live feed
reaches sockets connected to either API. Phase two: one API and one worker are killed with
SIGKILL while events stream in; every event answered 202 still arrives (at least once),
the killed worker's claims once its lease has run out.
"""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.support.factories import ADMIN_TOKEN, Tenant, app_event, new_tenant, new_webhook
from tests.support.live_client import live_client
from tests.support.receiver import Receiver, Reply
from tests.support.server import REPO_ROOT
from tests.support.workers import arrived_event_ids, kill, start_worker, wait_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# DB 11 and 12 belong to the other multi-process live-feed tests.
REDIS_URL = os.environ.get("HOOKLINE_TEST_TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379/13")
FIRST = 100  # events in phase one, half through each API
SECOND = 200  # events streamed in phase two, around the kills
KILL_AFTER = 60  # phase-two events accepted before the kills
# The worker's lease is max(lease, delivery timeout + 15 s) = 16 s: the wait covers it.
ARRIVAL_TIMEOUT = 120.0


@pytest_asyncio.fixture(scope="module")
async def redis_url() -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError):
        await client.aclose()
        if os.environ.get("HOOKLINE_TEST_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required but unreachable at {REDIS_URL}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def api_process(database_url: str, redis_url: str) -> AsyncIterator[tuple[str, int]]:
    """`python -m app serve --port P` as compose's api-N runs it; yields (url, pid)."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_REDIS_URL": redis_url,
        "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLINE_DISPATCHER": "off",
        "HOOKLINE_AUTO_MIGRATE": "false",
        "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        "HOOKLINE_LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "serve", "--port", str(port),
        cwd=REPO_ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http, asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                assert proc.returncode is None, "the API process exited during start-up"
                await asyncio.sleep(0.1)
        yield url, proc.pid
    finally:
        await kill(proc, signal.SIGTERM)


async def _post(url: str, tenant: Tenant, user: str) -> str | None:
    """One single-event ingest on its own connection; the event id if answered 202."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            answer = await http.post(
                "/v1/events", json=app_event(user_id=user), headers=tenant.ingest_headers
            )
    except httpx.TransportError:
        return None  # the API was killed: not accepted, so nothing is owed
    if answer.status_code != 202:
        return None
    event_id: str = answer.json()["id"]
    return event_id


async def test_compose_topology_delivers_once_and_survives_kills(
    pg_url: str, redis_url: str
) -> None:
    # Replies take 0.3 s, so a worker always has attempts in flight while events stream.
    receiver = Receiver(default=Reply(200, delay=0.3))
    async with (
        receiver,
        api_process(pg_url, redis_url) as (url_one, pid_one),
        api_process(pg_url, redis_url) as (url_two, _),
        httpx.AsyncClient(base_url=url_one, timeout=30) as http,
    ):
        tenant = await new_tenant(http, "Topology")
        await new_webhook(http, tenant, url=receiver.url())
        workers = await asyncio.gather(
            *(start_worker(pg_url, lease_seconds=5, delivery_timeout_seconds=1) for _ in range(2))
        )
        try:
            async with (
                live_client(url_one, tenant.api_key) as live_one,
                live_client(url_two, tenant.api_key) as live_two,
            ):
                await live_one.wait_subscriptions(1)
                await live_two.wait_subscriptions(1)
                urls = (url_one, url_two)
                posted = await asyncio.gather(
                    *(_post(urls[i % 2], tenant, f"p1-{i}") for i in range(FIRST))
                )
                first = {event_id for event_id in posted if event_id is not None}
                assert len(first) == FIRST
                await wait_all(receiver, first, timeout=ARRIVAL_TIMEOUT)
                # Both sockets saw every event, whichever API accepted it.
                seen_one = await live_one.wait_events(FIRST, timeout=30)
                seen_two = await live_two.wait_events(FIRST, timeout=30)
                assert {m["id"] for m in seen_one} == first
                assert {m["id"] for m in seen_two} == first

            # Exactly once: one delivery per event, each sent once (nothing was killed yet).
            ids = Counter(r.headers["x-webhook-id"] for r in receiver.requests)
            assert len(ids) == FIRST
            assert set(ids.values()) == {1}
            assert set(arrived_event_ids(receiver)) == first

            second: set[str] = set()
            killed = asyncio.Event()

            async def stream() -> None:
                for i in range(SECOND):
                    event_id = await _post(urls[i % 2], tenant, f"p2-{i}")
                    if event_id is not None:
                        second.add(event_id)
                    if len(second) == KILL_AFTER:
                        killed.set()
                        await asyncio.sleep(0)  # let the kills land between two posts

            async def kills() -> None:
                await killed.wait()
                os.kill(pid_one, signal.SIGKILL)
                assert await kill(workers[0]) == -signal.SIGKILL

            await asyncio.gather(stream(), kills())
            # API two took its share after the kill; API one's posts failed.
            assert len(second) >= SECOND // 2
            await wait_all(receiver, second, timeout=ARRIVAL_TIMEOUT)
        finally:
            codes = [await kill(worker, signal.SIGTERM) for worker in workers[1:]]
            await kill(workers[0])
        arrived = arrived_event_ids(receiver)
        print(
            f"\ntopology: {len(first)} + {len(second)} events accepted, "
            f"{len(set(arrived))} arrived, {len(arrived) - len(set(arrived))} more than once "
            "(the killed worker's claims, sent again after its lease)"
        )
        assert first | second <= set(arrived)
        assert codes == [0]
