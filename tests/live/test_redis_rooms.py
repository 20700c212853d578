"""Two server processes sharing rooms through a real Redis (HOOKLINE_REDIS_URL).

The browser is connected to process 2; webhooks are changed and events ingested on
process 1. Both processes use the same database (the same SQLite file, or the same
PostgreSQL database). Redis DB 11 is flushed before and after; the test is skipped
when Redis is unreachable unless HOOKLINE_TEST_REQUIRE_REDIS is set.
"""

import os
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.conftest import make_settings
from tests.live.helpers import ACTIVITY, APP, activity_event, app_event, ingest
from tests.support.factories import new_tenant, new_webhook
from tests.support.live_client import live_client
from tests.support.server import RunningServer, serve_process

REDIS_URL = os.environ.get("HOOKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")

pytestmark = pytest.mark.slow


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


@pytest_asyncio.fixture(scope="module")
async def servers(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    settings = make_settings(database_url, redis_url=redis_url)
    async with serve_process(settings) as one, serve_process(settings) as two:
        yield one, two


async def test_event_ingested_on_one_reaches_socket_on_two(
    servers: tuple[RunningServer, RunningServer],
) -> None:
    one, two = servers
    async with (
        httpx.AsyncClient(base_url=one.url, timeout=30) as http_one,
        httpx.AsyncClient(base_url=two.url, timeout=30) as http_two,
    ):
        tenant = await new_tenant(http_one, "Redis A")
        other = await new_tenant(http_one, "Redis B")
        await new_webhook(http_one, other)
        async with (
            live_client(two.url, tenant.api_key) as client,
            live_client(two.url, other.api_key) as other_client,
        ):
            assert await client.wait_subscriptions(1) == []
            await other_client.wait_subscriptions(1)
            # A change made on process 1 is announced to the socket on process 2 ...
            await new_webhook(http_one, tenant, events=(APP,))
            assert await client.wait_subscriptions(2) == [APP]
            # ... and process 2's own cache follows it too (no stale filter there).
            await ingest(http_two, tenant, activity_event())
            first = await ingest(http_one, tenant, app_event(user_id="u1"))
            await ingest(http_one, tenant, activity_event())
            marker = await ingest(http_two, tenant, app_event(user_id="marker"))
            await client.wait_events(2)
            assert [m["id"] for m in client.events][:1] == [first]
            assert {m["id"] for m in client.events} == {first, marker}
            assert all(m["event"] == APP for m in client.events)
            # The other reseller, connected to the same process, saw none of it.
            other_marker = await ingest(http_one, other, activity_event())
            [received] = await other_client.wait_events(1)
            assert received["id"] == other_marker
            assert received["event"] == ACTIVITY
