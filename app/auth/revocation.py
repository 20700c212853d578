"""Key changes reach every process: `NOTIFY hookline_keys` at commit, `LISTEN` in each.

Revoking a key, rotating ingest keys and renaming, disabling or enabling an organisation
call `announce` in their transaction: this process forgets its cached key verdicts at
commit and, on PostgreSQL, `pg_notify` tells every other API process to forget them too
(a notification is delivered only once the transaction commits). Each API process on
PostgreSQL holds one dedicated connection listening and sends it a heartbeat every half
second; a verdict older than a second is trusted only while a heartbeat sent within the
last second has been answered (`app.auth.keys`), so a slow, lost or silently dead
connection costs verdict reads, never a revoked key accepted. SQLite has no such
channel: there verdicts always last a second.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import forget_verified, heard_until, listening
from app.db.session import after_commit
from app.dispatch.listen import asyncpg_dsn
from app.events.service import forget_parties
from app.kit.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = "hookline_keys"
HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TIMEOUT_SECONDS = 10.0  # then reconnect (meanwhile verdicts already last 1 s)
RECONNECT_SECONDS = 1.0


# Told after every announcement heard here (the live feed closes sockets of gone keys).
_followers: list[Callable[[], None]] = []


def follow(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (quick, never raising) after each announcement; returns the undo."""
    _followers.append(callback)
    return lambda: _followers.remove(callback)


def forget_cached() -> None:
    """What an announcement drops: key verdicts, and the envelope's cached names (so a
    rename shows on the next event); then the followers are told."""
    forget_verified()
    forget_parties()
    for callback in list(_followers):
        try:
            callback()
        except Exception:
            log.exception("key announcement follower failed")


async def announce(session: AsyncSession) -> None:
    """Every process forgets its key verdicts and names once this transaction commits."""
    after_commit(session, forget_cached)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class RevocationListener:
    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keys-listen")
        with contextlib.suppress(TimeoutError):  # without it: 1 s verdicts meanwhile
            await asyncio.wait_for(self._connected.wait(), 5)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except Exception as exc:
                log.warning("LISTEN %s lost (%s); key verdicts last 1 s until back", CHANNEL, exc)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        connection: Any = await asyncpg.connect(
            self._dsn, timeout=5, server_settings={"application_name": "hookline-keys-listen"}
        )
        up = False
        try:
            sent = time.monotonic()
            await connection.add_listener(CHANNEL, lambda *_: forget_cached())
            listening(True)  # also forgets whatever was revoked while we were not listening
            up = True
            heard_until(sent)
            self._connected.set()
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                sent = time.monotonic()
                async with asyncio.timeout(HEARTBEAT_TIMEOUT_SECONDS):
                    await connection.fetchval("SELECT 1")
                heard_until(sent)
        finally:
            if up:
                listening(False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


@contextlib.asynccontextmanager
async def revocation_component(app: Any) -> AsyncIterator[None]:
    """The lifespan's listener (PostgreSQL only)."""
    settings = app.state.settings
    if settings.is_sqlite:
        yield
        return
    listener = RevocationListener(settings.database_url)
    await listener.start()
    try:
        yield
    finally:
        await listener.stop()
