"""Migrated test databases for both kinds, built by running the real migrations.

One template per kind per test session (migrated once), then a cheap copy per test
module: a file copy for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL. Names
carry the pid so several test runs on one machine never collide.
"""

import asyncio
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg

from app.db.migrate import upgrade_to_head

PG_ADMIN_DSN = os.environ.get(
    "HOOKLINE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_counter = itertools.count()


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def postgres_available() -> bool:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def _pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class DatabaseFactory:
    """Hands out fresh, migrated databases; drops the PostgreSQL ones at the end."""

    def __init__(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="hookline-test-"))
        self._templates: dict[str, str] = {}
        self._pg_databases: list[str] = []
        self._prefix = f"hl_t{os.getpid()}"

    async def _template(self, kind: str) -> str:
        if kind in self._templates:
            return self._templates[kind]
        if kind == "sqlite":
            path = self._tmp / "template.db"
            url = f"sqlite+aiosqlite:///{path}"
            await asyncio.to_thread(upgrade_to_head, url)
            self._templates[kind] = str(path)
        else:
            name = f"{self._prefix}_tpl"
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
            await _pg_admin(f'CREATE DATABASE "{name}"')
            self._pg_databases.append(name)
            await asyncio.to_thread(upgrade_to_head, _pg_url(name))
            self._templates[kind] = name
        return self._templates[kind]

    async def fresh(self, kind: str) -> str:
        """A new migrated database of `kind` ("sqlite" or "postgres"); returns its URL."""
        template = await self._template(kind)
        number = next(_counter)
        if kind == "sqlite":
            path = self._tmp / f"db{number}.db"
            shutil.copyfile(template, path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"{self._prefix}_{number}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._pg_databases.append(name)
        return _pg_url(name)

    async def empty(self, kind: str) -> str:
        """An empty, unmigrated database (for the migration tests)."""
        number = next(_counter)
        if kind == "sqlite":
            return f"sqlite+aiosqlite:///{self._tmp / f'empty{number}.db'}"
        name = f"{self._prefix}_e{number}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        self._pg_databases.append(name)
        return _pg_url(name)

    async def close(self) -> None:
        for name in reversed(self._pg_databases):
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self._tmp, ignore_errors=True)
