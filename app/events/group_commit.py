"""Group commit: concurrent single-event requests of one process share one transaction.

A request hands its prepared event to the committer and waits. One task writes. When it
is idle, a request is written at once (no fixed delay at low load); while a transaction
is in flight, the requests that arrive queue up and the next transaction takes them all
(up to `MAX_GROUP_EVENTS` events or `MAX_GROUP_BYTES` of bodies). Each request is
answered only once the transaction holding its event committed. When a group's
transaction fails:
- the database is unreachable: every member gets 503 and nothing was written (it was one
  transaction);
- anything else (a statement the database refused): the members are written again one
  by one, so only the request that causes it fails and the others are accepted.

Batches do not join groups: `write_alone` gives each its own transaction, with the same
steps and the same after-commit signals.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI

from app.config import Settings
from app.db.errors import database_unreachable
from app.errors import ServiceUnavailable
from app.events.intake import ByteBudget
from app.events.writer import Prepared, Writer, open_writer
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.ops import metrics

log = logging.getLogger(__name__)

MAX_GROUP_EVENTS = 500
MAX_GROUP_BYTES = 8 * 1024 * 1024
PRUNE_EVERY_SECONDS = 60.0


def _unreachable(exc: BaseException) -> bool:
    """`database_unreachable` for `exc` or what it was raised from or during (asyncpg's
    transaction exit reports "the underlying connection is closed" over the real cause)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if database_unreachable(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("Database unavailable, retry shortly", headers={"Retry-After": "1"})


class GroupCommitter:
    def __init__(
        self,
        writer: Writer,
        signals: Signals,
        *,
        idempotency_ttl: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._writer = writer
        self._signals = signals
        self._ttl = idempotency_ttl
        self._clock = clock
        self._queue: list[tuple[Prepared, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self.groups = 0  # transactions committed for groups, and the most requests in one
        self.largest_group = 0
        self.writing = 0  # requests in the transaction in flight

    @property
    def queued(self) -> int:
        """Requests waiting for the next group (the current one's are not counted)."""
        return len(self._queue)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ingest-group-commit")
        self._pruner = asyncio.create_task(self._prune_forever(), name="idempotency-prune")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        if self._pruner is not None:
            self._pruner.cancel()
        if self._task is not None:
            await self._task

    async def submit(self, item: Prepared) -> None:
        """Queue one request for the next group; returns once it is committed."""
        if self._stopping:
            raise unavailable()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        self._queue.append((item, future))
        self._wake.set()
        # Shielded: a client that goes away does not take its event out of a group.
        await asyncio.shield(future)

    async def write_alone(self, item: Prepared) -> None:
        """One request in a transaction of its own (a batch)."""
        try:
            await self._writer.write([item], self._clock(), self._ttl)
        except Exception as exc:
            if _unreachable(exc):
                log.warning("ingest commit failed, database unreachable: %r", exc)
                raise unavailable() from exc
            raise
        self._after_commit([item])

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._commit(self._take())
                self.writing = 0
            if self._stopping:
                return

    def _take(self) -> list[tuple[Prepared, asyncio.Future[None]]]:
        taken, events, size = 0, 0, 0
        for item, _ in self._queue:
            item_size = sum(len(e.body) for e in item.events)
            if taken and (
                events + len(item.events) > MAX_GROUP_EVENTS or size + item_size > MAX_GROUP_BYTES
            ):
                break
            taken, events, size = taken + 1, events + len(item.events), size + item_size
        group, self._queue = self._queue[:taken], self._queue[taken:]
        return group

    async def _commit(self, group: list[tuple[Prepared, asyncio.Future[None]]]) -> None:
        items = [item for item, _ in group]
        self.writing = len(items)
        try:
            await self._writer.write(items, self._clock(), self._ttl)
        except Exception as exc:
            if _unreachable(exc) or len(group) == 1:
                if _unreachable(exc):
                    log.warning("ingest group commit failed, database unreachable: %r", exc)
                    exc = unavailable()
                else:
                    log.error("ingest commit failed", exc_info=exc)
                for _, future in group:
                    _settle(future, exc)
                return
            log.warning(
                "ingest group of %d failed (%r); writing its members one by one", len(group), exc
            )
            for member in group:
                _reset(member[0])
                await self._commit([member])
            return
        self.groups += 1
        self.largest_group = max(self.largest_group, len(group))
        self._after_commit(items)
        for _, future in group:
            _settle(future, None)

    def _after_commit(self, items: Sequence[Prepared]) -> None:
        written = [item for item in items if item.writes]
        if not written:
            return
        if any(item.deliveries for item in written):
            self._signals.deliveries_due()
        self._signals.events_accepted([e.accepted for item in written for e in item.events])
        counts = Counter(e.event_type for item in written for e in item.events)
        for event_type, count in counts.items():
            metrics.EVENTS_ACCEPTED.labels(event_type).inc(count)

    async def prune(self) -> None:
        """Delete the expired idempotency keys (every `PRUNE_EVERY_SECONDS` by itself)."""
        await self._writer.prune(self._clock())

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
            try:
                await self.prune()
            except Exception as exc:  # the next round tries again
                log.warning("pruning idempotency keys failed: %r", exc)


def _reset(item: Prepared) -> None:
    """Forget what a failed transaction planned, before the request is written again."""
    item.delivery_rows = []
    item.deliveries = 0
    item.response = b""
    item.replayed = item.conflict = False


def _retrieved(future: asyncio.Future[None]) -> None:
    """Marks the outcome as seen: its request may have gone away and never look."""
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)


@dataclass(frozen=True, slots=True)
class Ingest:
    """What the ingest routes use, owned by the lifespan (`ingest_component`)."""

    committer: GroupCommitter
    budget: ByteBudget


@asynccontextmanager
async def ingest_component(app: FastAPI) -> AsyncIterator[Ingest]:
    """Lifespan component: the writer (an asyncpg pool on PostgreSQL), the group committer
    and the bytes-in-flight budget; on the way out, what is queued is written first."""
    settings: Settings = app.state.settings
    clock: Callable[[], datetime] = getattr(app.state, "clock", utc_now)
    async with open_writer(settings, app.state.engine) as writer:
        committer = GroupCommitter(
            writer,
            app.state.signals,
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            clock=clock,
        )
        ingest = Ingest(committer, ByteBudget(settings.ingest_max_bytes_in_flight))
        app.state.ingest = ingest
        committer.start()
        try:
            yield ingest
        finally:
            await committer.stop()
