"""Ingest and event history.

Ingest writes the events and one delivery per subscribed, enabled webhook in the
request's transaction with bulk INSERTs (a 1,000-event batch is three statements),
and queues the wake-ups for after the commit: the in-process signal, and on
PostgreSQL a `pg_notify` that the database itself delivers only if the transaction
commits, to workers in other processes.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.db.session import after_commit
from app.db.tenancy import get_owned, owned_by
from app.events.schemas import ValidEvent
from app.kit.ids import new_id
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import AcceptedEvent, Signals
from app.kit.time import epoch_ms
from app.kit.ttl_cache import TTLCache
from app.models import Delivery, Event, Organisation, Reseller, Webhook
from app.models.delivery import PENDING
from app.ops import metrics
from app.wire.envelope import Party, envelope_bytes

NOTIFY_CHANNEL = "hookline_deliveries"


# Names cannot be changed through the API: cache them for the ingest hot path.
_party_names: TTLCache[tuple[str, str], tuple[Party, Party]] = TTLCache(ttl_seconds=60)


async def _parties(
    session: AsyncSession, reseller_id: str, organisation_id: str
) -> tuple[Party, Party]:
    cached = _party_names.get((reseller_id, organisation_id))
    if cached is not None:
        return cached
    row = (
        await session.execute(
            select(Reseller.name, Organisation.name)
            .join(Organisation, Organisation.reseller_id == Reseller.id)
            .where(Reseller.id == reseller_id, Organisation.id == organisation_id)
        )
    ).one()
    parties = Party(reseller_id, row[0]), Party(organisation_id, row[1])
    _party_names.put((reseller_id, organisation_id), parties)
    return parties


async def _subscribers(session: AsyncSession, reseller_id: str) -> dict[str, list[str]]:
    """Event type → ids of the reseller's enabled, live webhooks subscribed to it."""
    rows = await session.execute(
        select(Webhook.id, Webhook.events).where(
            Webhook.reseller_id == reseller_id,
            Webhook.enabled.is_(True),
            Webhook.deleted_at.is_(None),
        )
    )
    by_type: dict[str, list[str]] = defaultdict(list)
    for webhook_id, types in rows:
        for event_type in types:
            by_type[event_type].append(webhook_id)
    return by_type


async def ingest(
    session: AsyncSession,
    signals: Signals,
    *,
    reseller_id: str,
    organisation_id: str,
    events: Sequence[ValidEvent],
    received_at: datetime,
) -> tuple[list[str], int]:
    """Store the events and their deliveries; returns the event ids and the delivery count."""
    parent, organisation = await _parties(session, reseller_id, organisation_id)
    subscribers = await _subscribers(session, reseller_id)
    received_ms = epoch_ms(received_at)
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    accepted: list[AcceptedEvent] = []
    for item in events:
        event_id = new_id("evt")
        timestamp_ms = item.timestamp_ms if item.timestamp_ms is not None else received_ms
        body = envelope_bytes(
            event_type=item.event_type,
            event_id=event_id,
            timestamp_ms=timestamp_ms,
            parent=parent,
            organisation=organisation,
            user_id=item.user_id,
            team_id=item.team_id,
            data=item.data,
            version=item.version,
            agent=item.agent,
        )
        event_rows.append(
            {
                "id": event_id,
                "reseller_id": reseller_id,
                "organisation_id": organisation_id,
                "event_type": item.event_type,
                "user_id": str(item.user_id),
                "team_id": str(item.team_id),
                "timestamp_ms": timestamp_ms,
                "body": body,
                "size": len(body),
                "received_at": received_at,
            }
        )
        delivery_rows.extend(
            {
                "id": new_id("dlv"),
                "reseller_id": reseller_id,
                "event_id": event_id,
                "webhook_id": webhook_id,
                "event_type": item.event_type,
                "status": PENDING,
                "attempt_count": 0,
                "next_attempt_at": received_at,
                "created_at": received_at,
                "updated_at": received_at,
            }
            for webhook_id in subscribers.get(item.event_type, ())
        )
        accepted.append(
            AcceptedEvent(
                id=event_id,
                reseller_id=reseller_id,
                event_type=item.event_type,
                parent_organisation_name=parent.name,
                organisation_name=organisation.name,
                user_id=item.user_id,
                team_id=item.team_id,
                received_at=received_at,
                body=body,
            )
        )
    await session.execute(insert(Event), event_rows)
    if delivery_rows:
        await session.execute(insert(Delivery), delivery_rows)
        if session.get_bind().dialect.name == "postgresql":
            # Delivered by PostgreSQL on commit only, to every worker process listening.
            await session.execute(text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"))
        after_commit(session, signals.deliveries_due)
    after_commit(session, lambda: signals.events_accepted(accepted))
    after_commit(session, lambda: _count(events))
    return [row["id"] for row in event_rows], len(delivery_rows)


def _count(events: Sequence[ValidEvent]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for item in events:
        counts[item.event_type] += 1
    for event_type, count in counts.items():
        metrics.EVENTS_ACCEPTED.labels(event_type).inc(count)


async def list_events(
    session: AsyncSession,
    reseller_id: str,
    *,
    event_type: str | None,
    organisation_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Event, str]], str | None]:
    """Newest first, without the bodies (a page of screenshots would be megabytes)."""
    base = owned_by(Event, reseller_id).join(Organisation, Organisation.id == Event.organisation_id)
    query: Any = base.with_only_columns(Event, Organisation.name).options(
        defer(Event.body, raiseload=True)
    )
    if event_type is not None:
        query = query.where(Event.event_type == event_type)
    if organisation_id is not None:
        query = query.where(Event.organisation_id == organisation_id)
    query = paginate_newest_first(query, Event.id, limit=limit, cursor=cursor)
    rows = [(row[0], row[1]) for row in await session.execute(query)]
    return page_of(rows, limit, lambda row: row[0].id)


async def get_event(session: AsyncSession, reseller_id: str, event_id: str) -> tuple[Event, str]:
    event = await get_owned(session, Event, reseller_id, event_id, what="Event")
    name = (
        await session.execute(
            select(Organisation.name).where(Organisation.id == event.organisation_id)
        )
    ).scalar_one()
    return event, name
