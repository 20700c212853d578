"""Claiming due deliveries: the delivery row is the job, the lease is the lock.

A claim pushes `next_attempt_at` forward by the lease and stamps a fresh
`lease_token`; results are written only `WHERE lease_token = <ours>`. A worker that
dies simply lets its rows become due again when the lease runs out, and a worker that
outlived its lease cannot overwrite the new owner's result.

PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` then the UPDATE, in one transaction, so
any number of workers claim disjoint rows without waiting on one another. SQLite has
one writer anyway: one claimer per process (a lock) reads the due rows, then claims
them with a single guarded UPDATE (re-checking they are still due) so the write
transaction is short and never upgraded from a read.

Fairness: each endpoint may be claimed only up to its budget (the scheduler's: twice
its fair share, less what it holds; 0 while its breaker pauses it), and a claim that
drops an endpoint's rows for its budget looks again past it, so one endpoint's backlog
never holds leases it cannot use or crowds the others out of a claim. Endpoints with
a limit across processes are claimed apart, one locked webhook row at a time
(`dispatch.limits`).
"""

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.rows import changed_rows
from app.deliveries.service import cancel_pending
from app.dispatch import limits
from app.dispatch.pg_store import PgStore
from app.models import Delivery, Event, Webhook
from app.models.delivery import PENDING
from app.wire.signature import HOOKLINE, Signing

REFILL_ROUNDS = 3  # queries per claim at most, each past the endpoints found full
LIMITED_TTL_SECONDS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """Everything one attempt needs, loaded with the claim (no query per delivery)."""

    delivery_id: str
    lease_token: str
    leased_until: datetime
    attempt_number: int
    webhook_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    # How to sign (app.wire.signature): the scheme, and a rotation's previous secret.
    scheme: str = HOOKLINE
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    # Tracing (`app.ops.tracing`): the row's ingest context and the webhook's opt-in. None
    # while tracing is off (the row's column is NULL).
    traceparent: str | None = None
    send_traceparent: bool = False

    @property
    def signing(self) -> Signing:
        return Signing(
            self.scheme, self.secret, self.previous_secret, self.previous_secret_expires_at
        )


@dataclass(slots=True)
class Claimed:
    jobs: list[Job] = field(default_factory=list)
    more: bool = False  # more rows may be due right now
    retry_in: float | None = None  # seconds until a rate-limited endpoint has a token


class Claimer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        postgres: bool,
        lease: timedelta,
        pg: PgStore | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._postgres = postgres
        self._pg = pg
        self.lease = lease
        self._lock = asyncio.Lock()
        # Which endpoints have a limit, remembered for a second on the fast path (the open
        # claim excludes them exactly; claiming them may start up to a second late).
        self._limited: tuple[float, list[str]] = (float("-inf"), [])

    async def _limited_pg(self, pg: PgStore) -> list[str]:
        loop = asyncio.get_running_loop()
        at, ids = self._limited
        if loop.time() - at > LIMITED_TTL_SECONDS:
            ids = await pg.limited()
            self._limited = (loop.time(), ids)
        return ids

    async def claim(
        self, *, now: datetime, limit: int, default_budget: int, budgets: Mapping[str, int]
    ) -> Claimed:
        """Claim up to `limit` due deliveries within each endpoint's budget."""
        result = Claimed()
        async with self._lock:
            if self._pg is not None:
                limited = await self._limited_pg(self._pg)
                result.jobs, result.more = await self._claim_open_pg(
                    now, limit, _Budgets(default_budget, budgets), limited
                )
            else:
                async with self._sessionmaker() as session:
                    limited = [item.webhook_id for item in await limits.limited_endpoints(session)]
                    result.jobs, result.more = await self._claim_open(
                        session, now, limit, _Budgets(default_budget, budgets), limited
                    )
                    await session.commit()
            for webhook_id in limited:
                room = min(limit - len(result.jobs), budgets.get(webhook_id, default_budget))
                if room <= 0:
                    result.more = result.more or room < 0 or len(result.jobs) >= limit
                    continue
                jobs, wait = await self._claim_limited(webhook_id, now, room)
                result.jobs += jobs
                if wait is not None:
                    result.retry_in = min(wait, result.retry_in or wait)
        return result

    async def _claim_open(
        self,
        session: AsyncSession,
        now: datetime,
        limit: int,
        budgets: "_Budgets",
        skip: Collection[str],
    ) -> tuple[list[Job], bool]:
        async def due_rows(
            wanted: int, excluded: list[str], chosen: list[str]
        ) -> Sequence[tuple[str, str]]:
            due = select(Delivery.id, Delivery.webhook_id).where(
                Delivery.status == PENDING, Delivery.next_attempt_at <= now
            )
            if excluded:
                due = due.where(Delivery.webhook_id.not_in(excluded))
            if chosen:
                due = due.where(Delivery.id.not_in(chosen))  # ours already, locked or not
            due = due.order_by(Delivery.next_attempt_at).limit(wanted)
            if self._postgres:
                due = due.with_for_update(skip_locked=True, of=Delivery)
            rows = [(d_id, w_id) for d_id, w_id in (await session.execute(due)).all()]
            if not self._postgres:
                await session.commit()  # end the read; the UPDATE re-checks dueness
            return rows

        chosen, more = await _choose(due_rows, limit, budgets, skip)
        jobs = await self._take(session, chosen, now) if chosen else []
        return jobs, more

    async def _claim_open_pg(
        self, now: datetime, limit: int, budgets: "_Budgets", skip: Collection[str]
    ) -> tuple[list[Job], bool]:
        """The same choice as `_claim_open`; then one statement takes the rows."""
        pg = self._pg
        assert pg is not None

        async def due_rows(
            wanted: int, excluded: list[str], chosen: list[str]
        ) -> Sequence[tuple[str, str]]:
            return await pg.due(now, wanted, excluded, chosen)

        chosen, more = await _choose(due_rows, limit, budgets, skip)
        if not chosen:
            return [], more
        token = secrets.token_hex(16)
        leased_until = now + self.lease
        jobs: list[Job] = []
        gone: list[str] = []
        for r in await pg.take(chosen, now, leased_until, token):
            if not r["live"]:
                gone.append(r["id"])  # disabled or deleted since the delivery was queued
                continue
            jobs.append(_job(token, leased_until, *(r[k] for k in _JOB_COLUMNS)))
        if gone:
            async with self._sessionmaker() as session:
                await _cancel_gone(session, gone, now)
                await session.commit()
        return jobs, more

    async def _claim_limited(
        self, webhook_id: str, now: datetime, room: int
    ) -> tuple[list[Job], float | None]:
        """Claim what a limited endpoint may start now, under its webhook row's lock."""
        async with self._sessionmaker() as session:
            if not await limits.has_due(session, webhook_id, now):
                return [], None
            allowed, wait = await limits.allowance(session, webhook_id, now, room)
            jobs: list[Job] = []
            if allowed > 0:
                due = (
                    select(Delivery.id)
                    .where(
                        Delivery.webhook_id == webhook_id,
                        Delivery.status == PENDING,
                        Delivery.next_attempt_at <= now,
                    )
                    .order_by(Delivery.next_attempt_at)
                    .limit(allowed)
                )
                if self._postgres:
                    due = due.with_for_update(skip_locked=True)
                ids = list((await session.execute(due)).scalars())
                jobs = await self._take(session, ids, now) if ids else []
                await limits.spend(session, webhook_id, len(ids), now)
            await session.commit()
        return jobs, wait

    async def _take(self, session: AsyncSession, ids: list[str], now: datetime) -> list[Job]:
        token = secrets.token_hex(16)
        leased_until = now + self.lease
        claimed = update(Delivery).where(Delivery.id.in_(ids))
        if not self._postgres:
            claimed = claimed.where(Delivery.status == PENDING, Delivery.next_attempt_at <= now)
        taken = set(
            (
                await session.execute(
                    claimed.values(next_attempt_at=leased_until, lease_token=token, updated_at=now)
                    .returning(Delivery.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        if not taken:
            return []
        rows = await session.execute(
            select(
                Delivery.id,
                Delivery.attempt_count,
                Delivery.webhook_id,
                Delivery.event_type,
                Webhook.url,
                Webhook.secret,
                Webhook.enabled,
                Webhook.deleted_at,
                Event.body,
                *_SIGNING_COLUMNS,
                *_TRACE_COLUMNS,
            )
            .join(Webhook, Webhook.id == Delivery.webhook_id)
            .join(Event, Event.id == Delivery.event_id)
            .where(Delivery.id.in_(taken))
        )
        jobs: list[Job] = []
        gone: list[str] = []
        for d_id, count, w_id, e_type, url, secret, enabled, deleted_at, body, *sig in rows:
            if not enabled or deleted_at is not None:
                gone.append(d_id)  # disabled or deleted since the delivery was queued
                continue
            job = _job(token, leased_until, d_id, count, w_id, e_type, url, secret, body, *sig)
            jobs.append(job)
        if gone:
            await _cancel_gone(session, gone, now)
        return jobs

    async def defer_endpoint(self, webhook_id: str, until: datetime, now: datetime) -> int:
        """Move an endpoint's pending deliveries that would come due before `until` to
        `until` (its breaker's pause): they stop being due, so claims neither scan past
        them nor hand them to another worker. Attempt counts are untouched; leased rows
        (in flight somewhere) are left alone."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.webhook_id == webhook_id,
                    Delivery.status == PENDING,
                    Delivery.next_attempt_at < until,
                    Delivery.lease_token.is_(None) | (Delivery.next_attempt_at <= now),
                )
                .values(next_attempt_at=until, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return changed_rows(result)

    async def release(self, jobs: Sequence[Job], at: datetime, now: datetime) -> None:
        """Give claims back unattempted: due at `at`, unowned (only while still ours)."""
        if not jobs:
            return
        if self._pg is not None:
            await self._pg.release({j.delivery_id: j.lease_token for j in jobs}, at, now)
            return
        table = cast(Table, Delivery.__table__)
        statement = (
            table.update()
            .where(table.c.id == bindparam("d_id"), table.c.lease_token == bindparam("d_token"))
            .values(next_attempt_at=at, lease_token=None, updated_at=now)
        )
        async with self._sessionmaker() as session:
            await session.execute(
                statement, [{"d_id": j.delivery_id, "d_token": j.lease_token} for j in jobs]
            )
            await session.commit()


@dataclass(frozen=True, slots=True)
class _Budgets:
    default: int
    budgets: Mapping[str, int]

    def of(self, webhook_id: str) -> int:
        return self.budgets.get(webhook_id, self.default)

    def full(self, used: Mapping[str, int]) -> list[str]:
        """Endpoints with no room left: those used up in this claim, and those with a
        budget of 0 (paused, or holding all they may) even before it."""
        full = {w for w, n in used.items() if n >= self.of(w)}
        full.update(w for w, n in self.budgets.items() if n <= 0)
        return sorted(full)


def _within_budget(
    rows: Collection[tuple[str, str]], budgets: _Budgets, used: dict[str, int]
) -> list[str]:
    """The rows that fit their endpoint's budget; `used` is updated with them."""
    chosen: list[str] = []
    for delivery_id, webhook_id in rows:
        if used.get(webhook_id, 0) < budgets.of(webhook_id):
            used[webhook_id] = used.get(webhook_id, 0) + 1
            chosen.append(delivery_id)
    return chosen


_JOB_COLUMNS = (
    "id", "attempt_count", "webhook_id", "event_type", "url", "secret", "body",
    "signature_scheme", "previous_secret", "previous_secret_expires_at",
    "traceparent", "send_traceparent",
)  # fmt: skip
_SIGNING_COLUMNS = (
    Webhook.signature_scheme,
    Webhook.previous_secret,
    Webhook.previous_secret_expires_at,
)
_TRACE_COLUMNS = (Delivery.traceparent, Webhook.send_traceparent)


def _job(
    token: str,
    leased_until: datetime,
    delivery_id: str,
    attempt_count: int,
    webhook_id: str,
    event_type: str,
    url: str,
    secret: str,
    body: bytes,
    scheme: str = HOOKLINE,
    previous_secret: str | None = None,
    previous_secret_expires_at: datetime | None = None,
    traceparent: str | None = None,
    send_traceparent: bool = False,
) -> Job:
    return Job(
        delivery_id=delivery_id,
        lease_token=token,
        leased_until=leased_until,
        attempt_number=attempt_count + 1,
        webhook_id=webhook_id,
        event_type=event_type,
        url=url,
        secret=secret,
        body=body,
        scheme=scheme,
        previous_secret=previous_secret,
        previous_secret_expires_at=previous_secret_expires_at,
        traceparent=traceparent,
        send_traceparent=send_traceparent,
    )


async def _cancel_gone(session: AsyncSession, delivery_ids: list[str], now: datetime) -> None:
    """Claimed rows whose webhook was disabled or deleted since: cancelled, lease cleared."""
    await cancel_pending(
        session,
        now=now,
        reason="Webhook disabled or deleted",
        delivery_ids=delivery_ids,
        keep_leases=False,
    )


DueRows = Callable[[int, list[str], list[str]], Awaitable[Sequence[tuple[str, str]]]]


async def _choose(
    due_rows: DueRows, limit: int, budgets: _Budgets, skip: Collection[str]
) -> tuple[list[str], bool]:
    """The rows to claim, within budgets, and whether more may be waiting.

    `due_rows(wanted, excluded endpoints, ids chosen already)` reads due rows oldest first.
    Rows over an endpoint's budget are dropped; when that leaves room, look again past the
    endpoints now full, so a backlog of one endpoint cannot push another's fresh rows out
    of this claim."""
    used: dict[str, int] = {}
    chosen: list[str] = []
    more = False
    for _ in range(REFILL_ROUNDS):
        saturated = budgets.full(used)
        wanted = limit - len(chosen)
        rows = await due_rows(wanted, sorted(set(saturated) | set(skip)), chosen)
        picked = _within_budget(rows, budgets, used)
        chosen += picked
        # More may be waiting: a full batch, rows over an endpoint's budget, or endpoints
        # skipped because they were full. Paused endpoints (budget 0) do not count:
        # nothing frees them but time, and polling covers that.
        busy = [w for w in saturated if budgets.of(w) > 0]
        more = len(rows) >= wanted or len(picked) < len(rows) or bool(busy)
        if len(picked) == len(rows) or len(chosen) >= limit:
            break
    return chosen, more
