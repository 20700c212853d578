"""Recoveries: a webhook's failed or cancelled deliveries in a window, queued again in bulk.

A recovery is a row (`models.Recovery`) worked through in chunks of `CHUNK` deliveries in
id order, each chunk its own short transaction: no transaction or connection is held
across the whole backlog, and 100,000 matches are 200 small commits. The request that
starts it works the first chunk itself, so an ordinary recovery is `done` in its 202;
a bigger one goes on in a background task of the API process and `GET
/v1/recoveries/{id}` shows its progress. The row's `cursor` is the last delivery id
handled, so a recovery whose process stopped is resumed where it was (by the next
read of it that finds it stalled), and the chunks never revisit a row.

Each chunk is one guarded UPDATE: only rows still in a recoverable status and not
leased (an attempt in flight decides its own row, as for a manual retry) become
`pending`, due now. A delivery already pending is therefore never queued twice, by a
re-run or by two recoveries at once; its attempts stay in the log and its
`attempt_count` goes on from where it was. A disabled webhook answers 409: the
dispatcher cancels what is due for a disabled endpoint, so recovering belongs after
re-enabling it; a webhook disabled or deleted while its recovery runs stops it
(`stopped`).
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.db.rows import changed_rows
from app.db.tenancy import get_owned
from app.deliveries.schemas import RecoverIn
from app.deliveries.service import not_leased
from app.errors import Conflict
from app.events.writer import NOTIFY_CHANNEL
from app.kit.ids import first_id_at
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.models import Delivery, Recovery, Webhook
from app.models.delivery import PENDING
from app.models.recovery import DONE, RUNNING, STOPPED

log = logging.getLogger(__name__)

CHUNK = 500
STALLED_AFTER = timedelta(seconds=30)  # a running recovery without progress for this long
_running: dict[str, asyncio.Task[None]] = {}  # recovery id → its background task here


def _matching(recovery: Recovery) -> list[ColumnElement[bool]]:
    """The recovery's deliveries. Ids are minted after the delivery's `created_at`, so
    `created_at >= since` implies `id >= first_id_at(since)`: the index range to scan."""
    conditions = [
        Delivery.webhook_id == recovery.webhook_id,
        Delivery.id >= first_id_at("dlv", recovery.since),
        Delivery.created_at >= recovery.since,
        Delivery.created_at < recovery.until,
        Delivery.status.in_(recovery.statuses),
    ]
    if recovery.event_types:
        conditions.append(Delivery.event_type.in_(recovery.event_types))
    return conditions


async def start(
    session: AsyncSession, reseller_id: str, webhook_id: str, body: RecoverIn
) -> Recovery:
    """The recovery row with its `matched` count (the caller commits, then runs it)."""
    webhook = await get_owned(session, Webhook, reseller_id, webhook_id, what="Webhook")
    if not webhook.enabled:
        raise Conflict("The webhook is disabled; re-enable it, then recover its deliveries")
    now = utc_now()
    recovery = Recovery(
        reseller_id=reseller_id,
        webhook_id=webhook.id,
        state=RUNNING,
        since=body.since,
        until=body.until or now,
        statuses=body.statuses,
        event_types=body.event_types,
        queued=0,
        created_at=now,
        updated_at=now,
    )
    if recovery.until <= recovery.since:  # `until` absent and `since` in the future
        recovery.until = recovery.since
    count = select(func.count()).where(*_matching(recovery))
    recovery.matched = int((await session.execute(count)).scalar_one())
    session.add(recovery)
    await session.flush()
    return recovery


async def list_for_webhook(
    session: AsyncSession, reseller_id: str, webhook_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Recovery], str | None]:
    """A page of the webhook's recoveries, newest first (404 for another reseller's)."""
    await get_owned(session, Webhook, reseller_id, webhook_id, what="Webhook")
    query = select(Recovery).where(
        Recovery.reseller_id == reseller_id, Recovery.webhook_id == webhook_id
    )
    query = paginate_newest_first(query, Recovery.id, limit=limit, cursor=cursor)
    return page_of(list((await session.execute(query)).scalars()), limit)


async def work_chunk(
    sessions: async_sessionmaker[AsyncSession], recovery_id: str, signals: Signals
) -> bool:
    """Queue the next chunk in one transaction; True once the recovery is done."""
    async with sessions() as session:
        recovery = await session.get(Recovery, recovery_id, with_for_update=True)
        if recovery is None or recovery.state != RUNNING:
            return True
        now = utc_now()
        webhook = await session.get(Webhook, recovery.webhook_id)
        if webhook is None or not webhook.enabled or webhook.deleted_at is not None:
            # Disabled or deleted since it started: what it would queue now would only be
            # cancelled by the dispatcher.
            recovery.state = STOPPED
            recovery.finished_at = recovery.updated_at = now
            await session.commit()
            return True
        query = select(Delivery.id).where(*_matching(recovery))
        if recovery.cursor is not None:
            query = query.where(Delivery.id > recovery.cursor)
        ids = list((await session.execute(query.order_by(Delivery.id).limit(CHUNK))).scalars())
        queued = 0
        if ids:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status.in_(recovery.statuses),
                    not_leased(now),
                )
                .values(
                    status=PENDING,
                    next_attempt_at=now,
                    lease_token=None,
                    completed_at=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            queued = changed_rows(result)
            recovery.cursor = ids[-1]
            recovery.queued += queued
            if queued and session.get_bind().dialect.name == "postgresql":
                # Wakes every worker process, delivered only if this commits (as ingest).
                await session.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        done = len(ids) < CHUNK
        if done:
            recovery.state = DONE
            recovery.finished_at = now
        recovery.updated_at = now
        await session.commit()
    if queued:
        signals.deliveries_due()
    return done


async def _run(
    sessions: async_sessionmaker[AsyncSession],
    recovery_id: str,
    signals: Signals,
    release: Callable[[], None],
) -> None:
    try:
        while not await work_chunk(sessions, recovery_id, signals):
            await asyncio.sleep(0)  # let requests in between chunks
    except Exception:
        log.exception("recovery %s stopped; it resumes when read again", recovery_id)
    finally:
        _running.pop(recovery_id, None)
        release()


def continue_in_background(
    sessions: async_sessionmaker[AsyncSession],
    recovery_id: str,
    signals: Signals,
    release: Callable[[], None],
) -> None:
    """Work the rest in a task of this process; `release` (the caller's slot) is called
    when it ends, or at once if the recovery already has a task here."""
    if recovery_id in _running:
        release()
        return
    _running[recovery_id] = asyncio.create_task(
        _run(sessions, recovery_id, signals, release), name=f"recovery-{recovery_id}"
    )


def stalled(recovery: Recovery, now: datetime) -> bool:
    """Running, no task of this process on it, and no chunk for a while (its process
    stopped, or it failed): safe to resume, the chunks being guarded and cursor-ordered."""
    return (
        recovery.state == RUNNING
        and recovery.id not in _running
        and recovery.updated_at < now - STALLED_AFTER
    )
