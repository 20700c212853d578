"""PostgreSQL `LISTEN hookline_deliveries`: wake-ups from ingest in other processes.

Ingest issues `pg_notify` inside its transaction, so a notification arrives only for
committed deliveries. The listener owns one dedicated asyncpg connection (not from the
pool: a pooled connection would be handed to others) and reconnects when it drops;
while it is down the dispatcher still polls, so nothing is missed, only later.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from app.kit.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "hookline_deliveries"
RECONNECT_SECONDS = 2.0


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Listener:
    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dispatch-listen")
        # Wait briefly for the first connection so a wake-up right after start is heard.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    def _notified(self, *_: Any) -> None:
        self._on_notify()

    async def _run(self) -> None:
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=10)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _, ended=closed: ended.set())
                await connection.add_listener(CHANNEL, self._notified)
                self._connected.set()
                self._on_notify()  # anything committed while we were not listening
                await closed.wait()
            except asyncio.CancelledError:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)
                raise
            except Exception as exc:
                log.warning("LISTEN %s failed (%s); polling until reconnected", CHANNEL, exc)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
