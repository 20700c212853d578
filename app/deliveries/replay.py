"""Replay missing: the deliveries a webhook never had, for the events of a window.

The events are those the webhook would get today (its subscribed types and routed
organisations) accepted in `[since, until)` with no delivery for this webhook, so a
webhook created today can receive yesterday's events and a replay run twice creates
nothing the second time. Events older than `HOOKLINE_EVENT_RETENTION_DAYS` may already
be pruned, so the window is clamped to the retention (the answer says so) rather than
refused: "everything still here" is what a reseller asking for more means.

Worked in chunks of `CHUNK` events in id order, each its own short transaction that
first locks the webhook row (PostgreSQL; SQLite has one writer anyway), so two replays
of one webhook at once cannot both see an event as missing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.deliveries.schemas import Window
from app.errors import Conflict, NotFound
from app.events.writer import NOTIFY_CHANNEL
from app.kit.ids import first_id_at, new_id
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.models import Delivery, Event, Webhook
from app.models.delivery import PENDING

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Replay:
    webhook_id: str
    since: datetime
    until: datetime
    created: int
    clamped: bool


async def _locked_webhook(session: AsyncSession, reseller_id: str, webhook_id: str) -> Webhook:
    webhook = (
        await session.execute(
            select(Webhook)
            .where(
                Webhook.id == webhook_id,
                Webhook.reseller_id == reseller_id,
                Webhook.deleted_at.is_(None),
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if webhook is None:
        raise NotFound("Webhook not found")
    if not webhook.enabled:
        raise Conflict("The webhook is disabled; re-enable it, then replay")
    return webhook


async def _chunk(
    session: AsyncSession,
    reseller_id: str,
    webhook_id: str,
    since: datetime,
    until: datetime,
    after: str | None,
) -> tuple[int, str | None]:
    """Create one chunk's missing deliveries; returns (created, last event id seen)."""
    webhook = await _locked_webhook(session, reseller_id, webhook_id)
    had = select(Delivery.id).where(
        Delivery.event_id == Event.id, Delivery.webhook_id == webhook.id
    )
    # Event ids are minted after `received_at` is taken: `received_at >= since` implies
    # `id >= first_id_at(since)`, the index range.
    query = select(Event.id, Event.event_type).where(
        Event.reseller_id == reseller_id,
        Event.event_type.in_(webhook.events),
        Event.id >= first_id_at("evt", since),
        Event.received_at >= since,
        Event.received_at < until,
        ~had.exists(),
    )
    if webhook.organisation_ids:
        query = query.where(Event.organisation_id.in_(webhook.organisation_ids))
    if after is not None:
        query = query.where(Event.id > after)
    rows = (await session.execute(query.order_by(Event.id).limit(CHUNK))).all()
    if not rows:
        return 0, None
    now = utc_now()
    await session.execute(
        insert(Delivery),
        [
            {
                "id": new_id("dlv"),
                "reseller_id": reseller_id,
                "event_id": event_id,
                "webhook_id": webhook.id,
                "event_type": event_type,
                "status": PENDING,
                "attempt_count": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for event_id, event_type in rows
        ],
    )
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
    return len(rows), rows[-1][0]


async def replay_missing(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    signals: Signals,
    reseller_id: str,
    webhook_id: str,
    window: Window,
) -> Replay:
    now = utc_now()
    oldest = now - timedelta(days=settings.event_retention_days)
    since, clamped = (oldest, True) if window.since < oldest else (window.since, False)
    until = window.until or now
    created, after = 0, None
    while True:
        async with sessions() as session:
            count, last = await _chunk(
                session, reseller_id, webhook_id, since, max(until, since), after
            )
            await session.commit()
        if count:
            signals.deliveries_due()
        created += count
        if count < CHUNK or last is None:
            break
        after = last
    return Replay(webhook_id, since, max(until, since), created, clamped)
