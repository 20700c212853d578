"""`python -m app serve --workers 2` on PostgreSQL with Redis: two API processes on one
port, both serving ingest, and the live feed spanning them (a socket on one process
receives the events the other accepted). `--workers 2` without PostgreSQL or Redis is
refused at start."""

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import _require_kind
from tests.support.databases import DatabaseFactory
from tests.support.factories import ADMIN_TOKEN, app_event, new_tenant, new_webhook
from tests.support.live_client import live_client
from tests.support.server import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

REDIS_URL = os.environ.get("HOOKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
EVENTS = 60


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOOKLINE_DATABASE_URL=database_url,
        HOOKLINE_ADMIN_TOKEN=ADMIN_TOKEN,
        HOOKLINE_DISPATCHER="off",
        HOOKLINE_ALLOW_PRIVATE_TARGETS="true",
        HOOKLINE_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _api_children(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn) under the supervisor `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


async def test_two_api_processes_serve_and_share_the_live_feed(
    databases: DatabaseFactory, pg_ready: bool
) -> None:
    await _require_kind("postgres", pg_ready)  # --workers N is PostgreSQL only
    database_url = await databases.fresh("postgres")
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except (OSError, aioredis.RedisError):
        await redis.aclose()
        if os.environ.get("HOOKLINE_TEST_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required but unreachable at {REDIS_URL}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    await redis.flushdb()
    port = _port()
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
        cwd=REPO_ROOT,
        env=_env(database_url, HOOKLINE_REDIS_URL=REDIS_URL),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            async with asyncio.timeout(30):
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            async with asyncio.timeout(30):
                while len(_api_children(proc.pid)) < 2:
                    await asyncio.sleep(0.1)
            children = _api_children(proc.pid)
            assert len(children) == 2
            tenant = await new_tenant(http, "Workers Reseller")
            await new_webhook(http, tenant, url="http://127.0.0.1:9/never")
            before = {pid: _cpu_ticks(pid) for pid in children}
            async with live_client(url, tenant.api_key) as live:

                async def post(i: int) -> str:
                    # A connection per request: the kernel hands them to both processes.
                    async with httpx.AsyncClient(base_url=url, timeout=30) as one:
                        answer = await one.post(
                            "/v1/events",
                            json=app_event(user_id=f"w{i}"),
                            headers=tenant.ingest_headers,
                        )
                    assert answer.status_code == 202, answer.text
                    event_id: str = answer.json()["id"]
                    return event_id

                accepted = set(await asyncio.gather(*(post(i) for i in range(EVENTS))))
                received = await live.wait_events(EVENTS, timeout=30)
            assert {event["id"] for event in received} == accepted
            used = {pid: _cpu_ticks(pid) - before[pid] for pid in children}
            assert all(ticks > 0 for ticks in used.values()), used
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        await redis.flushdb()
        await redis.aclose()


@pytest.mark.parametrize(
    ("database_url", "redis", "message"),
    [
        ("sqlite+aiosqlite:///./never-opened.db", True, b"needs PostgreSQL"),
        ("postgresql+asyncpg://postgres@127.0.0.1:1/never", False, b"needs HOOKLINE_REDIS_URL"),
    ],
)
async def test_workers_without_postgres_or_redis_are_refused(
    database_url: str, redis: bool, message: bytes
) -> None:
    # Refused before anything is opened: neither database is ever connected to.
    extra = {"HOOKLINE_REDIS_URL": REDIS_URL} if redis else {}
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "app", "serve", "--port", str(_port()), "--workers", "2"],
        cwd=REPO_ROOT,
        env=_env(database_url, **extra),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert message in err
