"""Recording finished attempts: batched, and one hostile result never fails the others.

`ResultWriter` takes outcomes as attempts end and writes whatever has accumulated in
one transaction: the attempt rows, the delivery updates (guarded by the lease token, so
a worker that lost its lease cannot overwrite the new owner's result), the
endpoints' failure streaks, in the order the attempts finished, and the hourly
rollups the stats read (`dispatch.rollups`).

Isolation: everything a receiver controls is sanitised before it gets here
(`egress.sender`). Should a batch still fail for a reason other than the database
being away, its outcomes are written one by one, so only the offending delivery is
affected; that one is written again without its response excerpt, and it follows its
retry schedule like any other. A database that is away is waited for (the leases
cover the wait); only then are the results given up, and the leases bring the
deliveries back.

A delivery cancelled while its attempt was in flight keeps its lease
(`deliveries.service.cancel_pending`): a 2xx result makes it `succeeded`, any other
result leaves it `cancelled`.
"""

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Boolean, Integer, String, Table, Text, and_, bindparam, case, insert, not_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.base import UTCDateTime
from app.db.errors import database_unreachable
from app.dispatch.claim import Job
from app.dispatch.retry import retry_delay
from app.dispatch.rollups import ROLLUP_KEY, rollup_rows
from app.dispatch.streaks import record_endpoint_outcomes
from app.egress.sender import ERROR_TEXT_LIMIT, AttemptKind
from app.kit.ids import new_id
from app.kit.text import storable_text
from app.models import AttemptRollup, Delivery, DeliveryAttempt
from app.models.delivery import CANCELLED, FAILED, PENDING, SUCCEEDED
from app.ops import metrics

if TYPE_CHECKING:
    from app.dispatch.pg_store import PgStore

log = logging.getLogger(__name__)

WRITE_BATCH = 500
WRITE_WINDOW = 0.02  # seconds a result may wait for others to share its transaction
UNREACHABLE_BACKOFF = (0.1, 0.5, 1, 2, 5, 5, 5, 10, 10, 10)  # seconds, then give up


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    job: Job
    kind: AttemptKind
    attempted_at: datetime
    finished_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    retry_after: str | None = None
    request_headers: dict[str, str] | None = None  # as sent: ours, never the secret

    @property
    def succeeded(self) -> bool:
        return self.kind is AttemptKind.SUCCESS


_TABLE = cast(Table, Delivery.__table__)
_OK = bindparam("b_ok", type_=Boolean())
# Cancelled while the attempt was in flight, and the attempt did not succeed.
_STAYS_CANCELLED = and_(_TABLE.c.status == CANCELLED, not_(_OK))
_UPDATE = (
    _TABLE.update()
    .where(
        _TABLE.c.id == bindparam("b_id", type_=String()),
        _TABLE.c.lease_token == bindparam("b_token", type_=String()),
    )
    .values(
        status=case(
            (_STAYS_CANCELLED, _TABLE.c.status), else_=bindparam("b_status", type_=String())
        ),
        attempt_count=bindparam("b_count", type_=Integer()),
        next_attempt_at=case(
            (_STAYS_CANCELLED, None), else_=bindparam("b_next", type_=UTCDateTime())
        ),
        lease_token=None,
        last_status_code=bindparam("b_code", type_=Integer()),
        last_error=case(
            (_STAYS_CANCELLED, _TABLE.c.last_error), else_=bindparam("b_error", type_=Text())
        ),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        completed_at=case(
            (_STAYS_CANCELLED, _TABLE.c.completed_at),
            else_=bindparam("b_done", type_=UTCDateTime()),
        ),
    )
)


def _next_state(
    outcome: Outcome, settings: Settings, rng: random.Random
) -> tuple[str, datetime | None]:
    """The delivery's status after this attempt, and when to try again if pending."""
    if outcome.succeeded:
        return SUCCEEDED, None
    delay = retry_delay(
        outcome.job.attempt_number,
        status_code=outcome.status_code,
        retry_after=outcome.retry_after,
        schedule=settings.retry_schedule,
        jitter=settings.retry_jitter,
        retry_after_max=settings.retry_after_max_seconds,
        now=outcome.finished_at,
        rng=rng,
    )
    if delay is None:
        return FAILED, None
    return PENDING, outcome.finished_at + timedelta(seconds=delay)


@dataclass(slots=True)
class Rows:
    """A batch of outcomes as the rows to write (shared by both databases' writers)."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    streaks: list[tuple[str, bool, datetime]] = field(default_factory=list)
    ended: Counter[str] = field(default_factory=Counter)
    rollups: list[dict[str, Any]] = field(default_factory=list)  # `dispatch.rollups`


def outcome_rows(outcomes: Sequence[Outcome], settings: Settings, rng: random.Random) -> Rows:
    rows = Rows()
    for outcome in outcomes:
        job, now = outcome.job, outcome.finished_at
        rows.attempts.append(
            {
                "id": new_id("att"),
                "delivery_id": job.delivery_id,
                "attempt_number": job.attempt_number,
                "attempted_at": outcome.attempted_at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "response_body": outcome.response_body,
                "error": outcome.error,
                "webhook_id": job.webhook_id,  # denormalised for the stats index
                "kind": outcome.kind.value,
                "request_headers": outcome.request_headers,
            }
        )
        status, next_at = _next_state(outcome, settings, rng)
        done = None if status == PENDING else now
        if done is not None:
            rows.ended[status] += 1
        rows.updates.append(
            {
                "b_id": job.delivery_id,
                "b_token": job.lease_token,
                "b_ok": outcome.succeeded,
                "b_status": status,
                "b_count": job.attempt_number,
                "b_next": next_at,
                "b_code": outcome.status_code,
                "b_error": outcome.error,
                "b_now": now,
                "b_done": done,
            }
        )
        rows.streaks.append((job.webhook_id, outcome.succeeded, outcome.finished_at))
    rows.rollups = rollup_rows(rows.attempts)
    return rows


async def record_outcomes(session: AsyncSession, rows: Rows) -> None:
    """Write a batch's rows in the session's transaction (SQLite, and any database)."""
    await session.execute(insert(DeliveryAttempt), rows.attempts)
    await session.execute(_UPDATE, rows.updates)
    await record_endpoint_outcomes(session, rows.streaks)
    await _add_rollups(session, rows.rollups)


async def _add_rollups(session: AsyncSession, rollups: list[dict[str, Any]]) -> None:
    """The batch's hourly counts added to `attempt_rollups` in key order (`rollup_rows`),
    so writers of the same hot rows wait for each other but never deadlock."""
    if not rollups:
        return
    upsert = (
        postgresql_insert(AttemptRollup)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite_insert(AttemptRollup)
    )
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=ROLLUP_KEY,
            set_={
                "attempts": AttemptRollup.attempts + upsert.excluded.attempts,
                "latency_total": AttemptRollup.latency_total + upsert.excluded.latency_total,
            },
        ),
        rollups,
    )


def _stripped(outcome: Outcome, exc: BaseException) -> Outcome:
    """The outcome without anything the receiver sent, for a result that cannot be stored."""
    error = f"{outcome.error or 'attempt'}; its response could not be recorded"
    return replace(
        outcome,
        response_body=None,
        error=storable_text(f"{error} ({type(exc).__name__})", limit=ERROR_TEXT_LIMIT),
    )


class ResultWriter:
    """Collects outcomes (`put`) and records them in batches until `close()`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        rng: random.Random,
        pg: "PgStore | None" = None,
    ) -> None:
        self._pg = pg  # PostgreSQL: one statement per batch on the dispatcher's own pool
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._rng = rng
        self._queue: asyncio.Queue[Outcome | None] = asyncio.Queue()  # None: stop
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dispatch-writer")

    def put(self, outcome: Outcome) -> None:
        self._queue.put_nowait(outcome)

    async def close(self) -> None:
        """Record everything queued, then stop."""
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        """Whatever is queued, topped up for at most WRITE_WINDOW seconds: result writes
        are off the delivery path, so a few milliseconds cost no delivery latency and
        save a transaction per handful of results."""
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            batch: list[Outcome] = []
            item = await self._queue.get()
            deadline = loop.time() + WRITE_WINDOW
            while item is not None:
                batch.append(item)
                if len(batch) >= WRITE_BATCH:
                    break
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                else:
                    item = self._queue.get_nowait()
            done = item is None
            if batch:
                await self.write(batch)

    async def write(self, batch: Sequence[Outcome]) -> None:
        """Record a batch; on a failure that is not the database being away, one by one."""
        for delay in UNREACHABLE_BACKOFF:
            try:
                await self._commit(batch)
                return
            except Exception as exc:
                if not database_unreachable(exc):
                    log.warning(
                        "recording %d results failed (%s); recording them one by one",
                        len(batch),
                        type(exc).__name__,
                    )
                    await self._one_by_one(batch)
                    return
                log.exception("recording %d attempt results failed; retrying", len(batch))
                await asyncio.sleep(delay)
        log.error("gave up recording %d results; their leases will expire", len(batch))

    async def _one_by_one(self, batch: Sequence[Outcome]) -> None:
        for outcome in batch:
            try:
                await self._commit([outcome])
                continue
            except Exception as exc:
                if database_unreachable(exc):
                    await self.write([outcome])  # wait for the database like a batch
                    continue
                failure = exc
            log.warning(
                "the result of delivery %s could not be recorded as received (%s)",
                outcome.job.delivery_id,
                type(failure).__name__,
            )
            try:
                await self._commit([_stripped(outcome, failure)])
            except Exception:
                log.exception(
                    "delivery %s: result not recorded; its lease will bring it back",
                    outcome.job.delivery_id,
                )

    async def _commit(self, batch: Sequence[Outcome]) -> None:
        rows = outcome_rows(batch, self._settings, self._rng)
        if self._pg is not None:
            await self._pg.record(rows)
        else:
            async with self._sessionmaker() as session:
                await record_outcomes(session, rows)
                await session.commit()
        for status, count in rows.ended.items():
            metrics.DELIVERIES_COMPLETED.labels(status).inc(count)
