"""Shared fixtures: a migrated database of each kind per module, the app, a client.

Tests that take `database_url` (directly or through `app`/`client`) run once on SQLite
and once on PostgreSQL. PostgreSQL is skipped only when it is unreachable and
HOOKLINE_TEST_REQUIRE_POSTGRES is not set; CI sets it, so there it fails instead.
"""

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from tests.support.databases import DatabaseFactory, postgres_available
from tests.support.factories import ADMIN_TOKEN

DB_KINDS = ("sqlite", "postgres")


@pytest_asyncio.fixture(scope="session")
async def databases() -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory()
    yield factory
    await factory.close()


@pytest_asyncio.fixture(scope="session")
async def pg_ready() -> bool:
    return await postgres_available()


async def _require_kind(kind: str, pg_ready: bool) -> None:
    if kind == "postgres" and not pg_ready:
        if os.environ.get("HOOKLINE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (HOOKLINE_TEST_REQUIRE_POSTGRES) but unreachable")
        pytest.skip("PostgreSQL unreachable")


@pytest.fixture(scope="module", params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest_asyncio.fixture(scope="module")
async def database_url(db_kind: str, databases: DatabaseFactory, pg_ready: bool) -> str:
    await _require_kind(db_kind, pg_ready)
    return await databases.fresh(db_kind)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": SecretStr(ADMIN_TOKEN),
        "dispatcher": "off",
        "auto_migrate": False,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def settings_factory(database_url: str) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(database_url, **overrides)


@pytest_asyncio.fixture(scope="module")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as http:
        yield http
