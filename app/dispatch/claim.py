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

Fairness: rows of endpoints already at their concurrency bound (or paused by their
breaker) are not claimed at all, and at most the endpoint's remaining budget is
claimed per endpoint, so one slow or failing endpoint's backlog never holds leases it
cannot use or crowds out the others.
"""

import asyncio
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Delivery, Event, Webhook
from app.models.delivery import CANCELLED, PENDING

REFILL_ROUNDS = 3  # queries per claim at most, each past the endpoints found full


@dataclass(frozen=True, slots=True)
class Job:
    """Everything one attempt needs, loaded with the claim (no query per delivery)."""

    delivery_id: str
    lease_token: str
    attempt_number: int
    webhook_id: str
    event_type: str
    url: str
    secret: str
    body: bytes


class Claimer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        postgres: bool,
        lease: timedelta,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._postgres = postgres
        self._lease = lease
        self._lock = asyncio.Lock()

    async def claim(
        self,
        *,
        now: datetime,
        limit: int,
        endpoint_budget: int,
        in_flight: Mapping[str, int],
        limits: Mapping[str, int] | None = None,
    ) -> tuple[list[Job], bool]:
        """Claim up to `limit` due deliveries; also says whether more may be waiting.

        `limits` overrides `endpoint_budget` for some endpoints (the breakers: 0 while
        paused, 1 while probing)."""
        budgets = _Budgets(endpoint_budget, limits or {})
        used = dict(in_flight)
        chosen: list[str] = []
        more = False
        async with self._lock, self._sessionmaker() as session:
            # Rows over an endpoint's budget are dropped; when that leaves room, look
            # again past the endpoints now full, so a backlog of one endpoint cannot
            # push another's fresh rows out of this claim.
            for _ in range(REFILL_ROUNDS):
                saturated = budgets.full(used)
                wanted = limit - len(chosen)
                due = select(Delivery.id, Delivery.webhook_id).where(
                    Delivery.status == PENDING, Delivery.next_attempt_at <= now
                )
                if saturated:
                    due = due.where(Delivery.webhook_id.not_in(saturated))
                if chosen:
                    due = due.where(Delivery.id.not_in(chosen))  # ours already, locked or not
                due = due.order_by(Delivery.next_attempt_at).limit(wanted)
                if self._postgres:
                    due = due.with_for_update(skip_locked=True, of=Delivery)
                rows = (await session.execute(due)).all()
                if not self._postgres:
                    await session.commit()  # end the read; the UPDATE re-checks dueness
                picked = _within_budget(rows, budgets, used)
                chosen += picked
                # More may be waiting: a full batch, rows over an endpoint's budget, or
                # endpoints skipped because they were at their bound. Paused endpoints
                # do not count: nothing frees them but time, and polling covers that.
                busy = [w for w in saturated if budgets.of(w) > 0]
                more = len(rows) >= wanted or len(picked) < len(rows) or bool(busy)
                if len(picked) == len(rows) or len(chosen) >= limit:
                    break
            jobs = await self._take(session, chosen, now) if chosen else []
            await session.commit()
        return jobs, more

    async def _take(self, session: AsyncSession, ids: list[str], now: datetime) -> list[Job]:
        token = secrets.token_hex(16)
        claimed = update(Delivery).where(Delivery.id.in_(ids))
        if not self._postgres:
            claimed = claimed.where(Delivery.status == PENDING, Delivery.next_attempt_at <= now)
        taken = set(
            (
                await session.execute(
                    claimed.values(
                        next_attempt_at=now + self._lease, lease_token=token, updated_at=now
                    )
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
            )
            .join(Webhook, Webhook.id == Delivery.webhook_id)
            .join(Event, Event.id == Delivery.event_id)
            .where(Delivery.id.in_(taken))
        )
        jobs: list[Job] = []
        gone: list[str] = []
        for d_id, count, w_id, e_type, url, secret, enabled, deleted_at, body in rows:
            if not enabled or deleted_at is not None:
                gone.append(d_id)  # disabled or deleted since the delivery was queued
                continue
            jobs.append(Job(d_id, token, count + 1, w_id, e_type, url, secret, body))
        if gone:
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(gone))
                .values(
                    status=CANCELLED,
                    next_attempt_at=None,
                    lease_token=None,
                    last_error="Webhook disabled or deleted",
                    completed_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        return jobs

    async def defer_endpoint(self, webhook_id: str, until: datetime, now: datetime) -> int:
        """Move an endpoint's pending deliveries that would come due before `until` to
        `until` (its breaker's pause): they stop being due, so claims neither scan past
        them nor hand them to another worker. Attempt counts are untouched."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.webhook_id == webhook_id,
                    Delivery.status == PENDING,
                    Delivery.next_attempt_at < until,
                )
                .values(next_attempt_at=until, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return cast(int, getattr(result, "rowcount", 0))

    async def release(self, jobs: Sequence[Job], now: datetime) -> None:
        """Give unfinished claims back (graceful stop): due now, unowned."""
        if not jobs:
            return
        table = cast(Table, Delivery.__table__)
        statement = (
            table.update()
            .where(table.c.id == bindparam("d_id"), table.c.lease_token == bindparam("d_token"))
            .values(next_attempt_at=now, lease_token=None, updated_at=now)
        )
        async with self._sessionmaker() as session:
            await session.execute(
                statement, [{"d_id": j.delivery_id, "d_token": j.lease_token} for j in jobs]
            )
            await session.commit()


@dataclass(frozen=True, slots=True)
class _Budgets:
    default: int
    limits: Mapping[str, int]

    def of(self, webhook_id: str) -> int:
        return self.limits.get(webhook_id, self.default)

    def full(self, used: Mapping[str, int]) -> list[str]:
        """Endpoints with no free slot: busy ones, and limited ones even when idle."""
        full = {w for w, n in used.items() if n >= self.of(w)}
        full.update(w for w, n in self.limits.items() if used.get(w, 0) >= n)
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
