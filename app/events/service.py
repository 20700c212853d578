"""Ingest preparation and event history.

`prepare` turns a validated request into rows: an id and the canonical envelope per
event, built here, in the request's own task, so the group commit (`group_commit.py`,
`writer.py`) only writes. The names on the envelope and the key's owner come from
short-lived caches; on a miss they are read with a short session of the caller's,
closed before the body is read.
"""

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.db.tenancy import get_owned, owned_by
from app.events.schemas import ValidEvent
from app.events.writer import Prepared, PreparedEvent
from app.kit.ids import new_id
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import AcceptedEvent
from app.kit.time import epoch_ms
from app.kit.ttl_cache import TTLCache
from app.models import Event, Organisation, Reseller
from app.wire.envelope import Party, envelope_bytes

# The envelope's names, cached for the ingest hot path. A rename (`PATCH
# /v1/organisations/{id}`) clears them here at commit and, on PostgreSQL, in every process
# that hears its announcement (`app.auth.revocation`); otherwise within the 60 s.
_party_names: TTLCache[tuple[str, str], tuple[Party, Party]] = TTLCache(ttl_seconds=60)


def forget_parties() -> None:
    _party_names.clear()


def cached_parties(reseller_id: str, organisation_id: str) -> tuple[Party, Party] | None:
    return _party_names.get((reseller_id, organisation_id))


async def parties(
    session: AsyncSession, reseller_id: str, organisation_id: str
) -> tuple[Party, Party]:
    """The reseller and the organisation as the envelope names them."""
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
    found = Party(reseller_id, row[0]), Party(organisation_id, row[1])
    _party_names.put((reseller_id, organisation_id), found)
    return found


# What neither database can store in a text column: NUL (PostgreSQL) and lone surrogates
# (no UTF-8 form). The envelope keeps the exact value; the columns (event history) keep
# it spelled as its JSON escape, so no such id can fail a group it shares.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def column_text(value: str | int) -> str:
    text = str(value)
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def request_hash(route: str, body: bytes) -> str:
    """What an `Idempotency-Key` is bound to: the route and the exact bytes of the body."""
    return hashlib.sha256(route.encode() + b"\n" + body).hexdigest()


def prepare(
    *,
    parent: Party,
    organisation: Party,
    events: Sequence[ValidEvent],
    received_at: datetime,
    batch: bool,
    idempotency_key: str | None = None,
    hashed: str = "",
) -> Prepared:
    """Ids and canonical envelopes for the request's events (CPU only, no database)."""
    received_ms = epoch_ms(received_at)
    prepared: list[PreparedEvent] = []
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
        accepted = AcceptedEvent(
            id=event_id,
            reseller_id=parent.id,
            event_type=item.event_type,
            parent_organisation_name=parent.name,
            organisation_name=organisation.name,
            user_id=item.user_id,
            team_id=item.team_id,
            received_at=received_at,
            body=body,
        )
        prepared.append(
            PreparedEvent(
                id=event_id,
                event_type=item.event_type,
                user_id=column_text(item.user_id),
                team_id=column_text(item.team_id),
                timestamp_ms=timestamp_ms,
                body=body,
                accepted=accepted,
            )
        )
    return Prepared(
        reseller_id=parent.id,
        organisation_id=organisation.id,
        received_at=received_at,
        events=prepared,
        batch=batch,
        idempotency_key=idempotency_key,
        request_hash=hashed,
    )


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
