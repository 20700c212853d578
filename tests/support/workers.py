"""Worker processes for the multi-process tests: `python -m app worker` with chosen
settings, killed or stopped by signal; the API in-process with its dispatcher off; batch
ingest and the arrival checks those tests share. Written once, used by the dispatch and
fault tests alike."""

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]

# Worker settings unless a test says otherwise: loopback receivers, fast polling, a short
# lease (a killed worker's claims come back within seconds).
WORKER_DEFAULTS: dict[str, object] = {
    "auto_migrate": False,
    "allow_private_targets": True,
    "poll_interval_seconds": 0.5,
    "retry_jitter": 0,
    "lease_seconds": 5,
    "delivery_timeout_seconds": 1,
    "log_level": "WARNING",
}


@pytest.fixture(scope="module")
async def pg_url(databases: DatabaseFactory, pg_ready: bool) -> str:
    """A fresh PostgreSQL database per test module (multi-process tests need one)."""
    if not pg_ready:
        if os.environ.get("HOOKLINE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required but unreachable")
        pytest.skip("PostgreSQL unreachable")
    return await databases.fresh("postgres")


def _env_value(value: object) -> str:
    """Settings as pydantic-settings reads them: tuples as JSON, booleans in lower case."""
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


async def start_worker(
    database_url: str, *, command: Sequence[str] = ("-m", "app", "worker"), **settings: object
) -> asyncio.subprocess.Process:
    """`python -m app worker` (or another `command` of the interpreter that runs a worker,
    such as `tests.support.traced_worker`) with `settings` (HOOKLINE_ names, lower case)
    once it is ready."""
    values = {**WORKER_DEFAULTS, "database_url": database_url, **settings}
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        **{f"HOOKLINE_{name.upper()}": _env_value(value) for name, value in values.items()},
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command,
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
