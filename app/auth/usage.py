"""Keys' `last_used_at`, batched: remembered in memory per request, written per flush.

Writing the row on every request would put a write (and, on SQLite, the one write lock)
on the ingest hot path. Instead each process keeps the latest use of each key it saw and
writes them every `HOOKLINE_KEY_USAGE_FLUSH_SECONDS` in one executemany UPDATE (one row
per key used, however many requests), and once more at shutdown. The UPDATE only moves
the time forward, so processes flushing in any order never set it back. A failed flush
keeps its entries for the next one; `lastUsedAt` is therefore up to one interval behind.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kit.tasks import cancel_and_wait
from app.models import ApiKey

log = logging.getLogger(__name__)

_TABLE = cast(Table, ApiKey.__table__)  # Core: one executemany, no ORM bookkeeping
_FORWARD = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("key_id"),
        or_(_TABLE.c.last_used_at.is_(None), _TABLE.c.last_used_at < bindparam("used_at")),
    )
    .values(last_used_at=bindparam("used_at"))
)


class KeyUsage:
    """The latest use of each key since the last flush, in this process."""

    def __init__(self) -> None:
        self._pending: dict[str, datetime] = {}

    def touch(self, key_id: str, at: datetime) -> None:
        seen = self._pending.get(key_id)
        if seen is None or seen < at:
            self._pending[key_id] = at

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Write what is pending in one statement; the number of keys written."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        params = [{"key_id": key_id, "used_at": at} for key_id, at in pending.items()]
        try:
            async with sessions() as session:
                await session.execute(_FORWARD, params)
                await session.commit()
        except BaseException as exc:  # cancelled mid-flush included: keep them for the last one
            for key_id, at in pending.items():
                self.touch(key_id, at)
            if not isinstance(exc, Exception):
                raise
            log.warning("writing keys' last use failed (%s); kept for the next flush", exc)
            return 0
        return len(params)


@contextlib.asynccontextmanager
async def key_usage_component(app: Any) -> AsyncIterator[None]:
    """The lifespan's flusher: every interval, and once more on the way out."""
    usage: KeyUsage = app.state.key_usage
    sessions = app.state.sessionmaker
    interval: float = app.state.settings.key_usage_flush_seconds

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            await usage.flush(sessions)

    task = asyncio.create_task(loop(), name="key-usage-flush")
    try:
        yield
    finally:
        await cancel_and_wait(task)
        await usage.flush(sessions)
