"""Migrations: `upgrade head` on an empty database of each kind, then no drift against the
models (Alembic's autogenerate comparison), and a downgrade to base."""

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrate import alembic_config, upgrade_to_head
from app.models import Base
from tests.conftest import _require_kind
from tests.support.databases import DatabaseFactory


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_upgrade_then_no_drift_then_downgrade(
    kind: str, databases: DatabaseFactory, pg_ready: bool
) -> None:
    await _require_kind(kind, pg_ready)
    url = await databases.empty(kind)
    await asyncio.to_thread(upgrade_to_head, url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert diff == []
        assert set(Base.metadata.tables) <= tables
        await asyncio.to_thread(command.check, alembic_config(url))
        await asyncio.to_thread(command.downgrade, alembic_config(url), "base")
        async with engine.connect() as connection:
            left = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert left <= {"alembic_version"}
    finally:
        await engine.dispose()
