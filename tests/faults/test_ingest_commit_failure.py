"""A group commit that fails answers 503 to every member and leaves nothing written.

Real uvicorn on loopback, real failures: on PostgreSQL a private server stopped
(immediate) while one group's transaction is in flight and the next group waits; on
SQLite the database held locked by another connection past the busy timeout, so both
groups' writes fail as "database is locked".
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade_to_head
from app.events.group_commit import GroupCommitter
from tests.conftest import _require_kind, make_settings
from tests.faults.private_pg import find_bin, private_postgres
from tests.support.databases import DatabaseFactory
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook
from tests.support.server import RunningServer, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

GROUP = 20


async def _until(condition: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    async with asyncio.timeout(30):
        while True:
            result = condition()
            if result if isinstance(result, bool) else await result:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(what)


def _committer(server: RunningServer) -> GroupCommitter:
    assert server.app is not None
    committer: GroupCommitter = server.app.state.ingest.committer
    return committer


async def _tenant(http: httpx.AsyncClient) -> Tenant:
    tenant = await new_tenant(http, "Failing Reseller")
    await new_webhook(http, tenant)
    # One accepted event first: the key and the names are cached, so every request of
    # the groups below reaches the committer without another query.
    warm = await http.post("/v1/events", json=app_event(), headers=tenant.ingest_headers)
    assert warm.status_code == 202
    return tenant


async def _two_groups_then(
    http: httpx.AsyncClient,
    server: RunningServer,
    tenant: Tenant,
    first_in_flight: Callable[[], Awaitable[bool] | bool],
    fail: Callable[[], Awaitable[None]],
) -> list[httpx.Response]:
    """One request whose group is in flight and blocked, GROUP more queued behind it,
    then `fail()`: returns every answer."""

    async def post(i: int) -> httpx.Response:
        return await http.post(
            "/v1/events", json=app_event(user_id=f"g{i}"), headers=tenant.ingest_headers
        )

    first = asyncio.ensure_future(post(0))
    await _until(first_in_flight, "the first group's transaction is in flight")
    rest = [asyncio.ensure_future(post(i)) for i in range(1, GROUP + 1)]
    await _until(lambda: _committer(server).queued == GROUP, "the next group is queued")
    await fail()
    return list(await asyncio.gather(first, *rest))


def _assert_all_unavailable(answers: list[httpx.Response]) -> None:
    assert [a.status_code for a in answers] == [503] * (GROUP + 1), [a.text for a in answers]
    for answer in answers:
        assert answer.json()["error"]["code"] == "service_unavailable"
        assert answer.headers["retry-after"] == "1"


async def test_postgres_stopped_mid_group() -> None:
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries for a private server")
    async with private_postgres(bin_dir) as pg:
        url = await pg.create_database("ingest_fail")
        await asyncio.to_thread(upgrade_to_head, url)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        async with (
            serve(make_settings(url)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=60) as http,
        ):
            tenant = await _tenant(http)
            locker = await asyncpg.connect(dsn)
            await locker.execute("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")

            async def blocked() -> bool:
                waiting = await locker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                )
                return bool(waiting) and _committer(server).writing == 1

            answers = await _two_groups_then(http, server, tenant, blocked, pg.stop)
            _assert_all_unavailable(answers)
        await pg.start()
        connection = await asyncpg.connect(dsn)
        try:
            events = await connection.fetchval(
                "SELECT count(*) FROM events WHERE organisation_id = $1", tenant.organisation_id
            )
            deliveries = await connection.fetchval("SELECT count(*) FROM deliveries")
        finally:
            await connection.close()
        assert (events, deliveries) == (1, 1)  # the warm-up event alone


async def test_sqlite_locked_past_the_busy_timeout_mid_group(
    databases: DatabaseFactory, pg_ready: bool
) -> None:
    await _require_kind("sqlite", pg_ready)
    url = await databases.fresh("sqlite")
    path = Path(make_url(url).database or "")
    async with (
        serve(make_settings(url)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=60) as http,
    ):
        tenant = await _tenant(http)
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:

            async def nothing() -> None:
                """The lock is the failure: each group's write gives up after 10 s."""

            answers = await _two_groups_then(
                http, server, tenant, lambda: _committer(server).writing == 1, nothing
            )
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        _assert_all_unavailable(answers)
    check = sqlite3.connect(path)
    try:
        events = check.execute(
            "SELECT count(*) FROM events WHERE organisation_id = ?", (tenant.organisation_id,)
        ).fetchone()[0]
        deliveries = check.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    finally:
        check.close()
    assert (events, deliveries) == (1, 1)
