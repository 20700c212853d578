"""One transaction that writes accepted ingest requests: events, deliveries, idempotency keys.

The same steps on both databases, inside one transaction per call:
1. the subscriptions of every reseller in the call, read once (so an event fans out to the
   webhooks as they are at commit time, never to a cached set);
2. each request's deliveries and its 202 body;
3. the requests' `Idempotency-Key`s, claimed with an upsert that only replaces an expired
   row: a request whose key is already held is answered from the stored row (the same
   202 again, or 409 for another body) and writes nothing;
4. the events and deliveries, and on PostgreSQL the `NOTIFY` that wakes every worker
   (delivered by the database only if the transaction commits).

PostgreSQL goes through a small asyncpg pool of its own with array (`unnest`) statements:
a fixed handful of statements per group, whatever its size. SQLite goes through the
SQLAlchemy engine with Core statements (one writer at a time there anyway).
"""

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import Settings
from app.kit.ids import new_id
from app.kit.signals import AcceptedEvent
from app.models import Delivery, Event, IdempotencyKey, Webhook
from app.models.delivery import PENDING

NOTIFY_CHANNEL = "hookline_deliveries"
# reseller id → event type → (webhook id, its organisations: None for all of them)
Subscribers = dict[str, dict[str, list[tuple[str, frozenset[str] | None]]]]


@dataclass(slots=True)
class PreparedEvent:
    """One validated event with its id and canonical envelope, ready to insert."""

    id: str
    event_type: str
    user_id: str  # the column forms (see `service.column_text`)
    team_id: str
    timestamp_ms: int
    body: bytes
    accepted: AcceptedEvent


@dataclass(slots=True)
class Prepared:
    """One ingest request (one event or a batch) and, once written, its answer."""

    reseller_id: str
    organisation_id: str
    received_at: datetime
    events: list[PreparedEvent]
    batch: bool = False
    idempotency_key: str | None = None
    request_hash: str = ""
    # The ingest span's W3C context for its delivery rows (`app.ops.tracing`); None: off.
    traceparent: str | None = None
    # Set by `write`:
    response: bytes = b""
    deliveries: int = 0
    replayed: bool = False
    conflict: bool = False
    delivery_rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return not (self.replayed or self.conflict)


class _Tx(Protocol):
    async def subscribers(self, reseller_ids: set[str]) -> Subscribers: ...

    async def claim_keys(self, items: Sequence[Prepared], expires_at: datetime) -> set[Any]: ...

    async def stored_keys(self, items: Sequence[Prepared]) -> dict[Any, tuple[str, bytes]]: ...

    async def insert(self, items: Sequence[Prepared]) -> None: ...


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _group_subscribers(rows: Sequence[tuple[str, str, Any, Any]]) -> Subscribers:
    found: Subscribers = defaultdict(lambda: defaultdict(list))
    for webhook_id, reseller_id, types, organisation_ids in rows:
        routed = _json(organisation_ids)
        organisations = frozenset(routed) if routed else None  # null or []: every one
        for event_type in _json(types):
            found[reseller_id][event_type].append((webhook_id, organisations))
    return found


def _plan(item: Prepared, subscribers: Subscribers) -> None:
    """The request's delivery rows and its 202 body."""
    by_type = subscribers.get(item.reseller_id, {})
    rows = item.delivery_rows
    for event in item.events:
        rows.extend(
            (new_id("dlv"), event.id, webhook_id, event.event_type)
            for webhook_id, organisations in by_type.get(event.event_type, ())
            if organisations is None or item.organisation_id in organisations
        )
    item.deliveries = len(rows)
    if item.batch:
        answer: dict[str, Any] = {"ids": [e.id for e in item.events], "deliveries": len(rows)}
    else:
        answer = {"id": item.events[0].id, "deliveries": len(rows)}
    item.response = json.dumps(answer, separators=(",", ":")).encode()


def _answer_from(item: Prepared, record: tuple[str, bytes]) -> None:
    """A request whose key is already held: the stored answer, or a conflict."""
    request_hash, response = record
    item.delivery_rows = []
    if request_hash == item.request_hash:
        item.replayed, item.response = True, response
    else:
        item.conflict = True


async def _write(tx: _Tx, items: Sequence[Prepared], now: datetime, ttl: timedelta) -> None:
    subscribers = await tx.subscribers({item.reseller_id for item in items})
    for item in items:
        _plan(item, subscribers)
    keyed = [item for item in items if item.idempotency_key is not None]
    if not keyed:
        await tx.insert(items)
        return
    # Two requests of one group with the same key: the first claims it, the rest follow it.
    first: dict[tuple[str, str | None], Prepared] = {}
    followers: list[Prepared] = []
    for item in keyed:
        slot = (item.organisation_id, item.idempotency_key)
        if slot in first:
            followers.append(item)
        else:
            first[slot] = item
    claimed = await tx.claim_keys(list(first.values()), now + ttl)
    lost = [item for slot, item in first.items() if slot not in claimed]
    stored = await tx.stored_keys(lost + followers) if lost or followers else {}
    for item in lost:
        _answer_from(item, stored[(item.organisation_id, item.idempotency_key)])
    for item in followers:
        slot = (item.organisation_id, item.idempotency_key)
        leader = first[slot]
        record = (leader.request_hash, leader.response) if leader.writes else stored[slot]
        _answer_from(item, record)
    await tx.insert([item for item in items if item.writes])


# -- PostgreSQL: asyncpg with array statements ------------------------------------------------

_PG_SUBSCRIBERS = """
SELECT id, reseller_id, events, organisation_ids FROM webhooks
WHERE reseller_id = ANY($1::varchar[]) AND enabled AND deleted_at IS NULL
"""
# One statement for the events, the deliveries and the wake-up (NOTIFY_CHANNEL; status
# PENDING): the foreign keys are checked at the end of the statement, when the events are in.
_PG_INSERT = """
WITH new_events AS (
    INSERT INTO events (id, reseller_id, organisation_id, event_type, user_id, team_id,
                        timestamp_ms, body, size, received_at)
    SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[],
                         $5::varchar[], $6::varchar[], $7::bigint[], $8::bytea[],
                         $9::int[], $10::timestamptz[])
), new_deliveries AS (
    INSERT INTO deliveries (id, reseller_id, event_id, webhook_id, event_type, status,
                            attempt_count, next_attempt_at, created_at, updated_at,
                            traceparent)
    SELECT d.id, d.reseller_id, d.event_id, d.webhook_id, d.event_type, 'pending', 0,
           d.at, d.at, d.at, d.traceparent
    FROM unnest($11::varchar[], $12::varchar[], $13::varchar[], $14::varchar[],
                $15::varchar[], $16::timestamptz[], $17::varchar[])
         AS d(id, reseller_id, event_id, webhook_id, event_type, at, traceparent)
)
SELECT pg_notify('hookline_deliveries', '') WHERE cardinality($11::varchar[]) > 0
"""
_PG_CLAIM_KEYS = """
INSERT INTO idempotency_keys (organisation_id, key, request_hash, response, created_at,
                              expires_at)
SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::bytea[],
                     $5::timestamptz[], $6::timestamptz[])
ON CONFLICT (organisation_id, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
RETURNING organisation_id, key
"""
_PG_STORED_KEYS = """
SELECT k.organisation_id, k.key, k.request_hash, k.response FROM idempotency_keys k
JOIN unnest($1::varchar[], $2::varchar[]) AS w(organisation_id, key)
  ON k.organisation_id = w.organisation_id AND k.key = w.key
"""
_PG_PRUNE = "DELETE FROM idempotency_keys WHERE expires_at <= $1"


class _PgTx:
    def __init__(self, connection: asyncpg.Connection, now: datetime) -> None:
        self._connection = connection
        self._now = now

    async def subscribers(self, reseller_ids: set[str]) -> Subscribers:
        rows = await self._connection.fetch(_PG_SUBSCRIBERS, list(reseller_ids))
        return _group_subscribers([(r[0], r[1], r[2], r[3]) for r in rows])

    async def claim_keys(self, items: Sequence[Prepared], expires_at: datetime) -> set[Any]:
        rows = await self._connection.fetch(
            _PG_CLAIM_KEYS,
            [i.organisation_id for i in items],
            [i.idempotency_key for i in items],
            [i.request_hash for i in items],
            [i.response for i in items],
            [self._now] * len(items),
            [expires_at] * len(items),
        )
        return {(r[0], r[1]) for r in rows}

    async def stored_keys(self, items: Sequence[Prepared]) -> dict[Any, tuple[str, bytes]]:
        rows = await self._connection.fetch(
            _PG_STORED_KEYS,
            [i.organisation_id for i in items],
            [i.idempotency_key for i in items],
        )
        return {(r[0], r[1]): (r[2], bytes(r[3])) for r in rows}

    async def insert(self, items: Sequence[Prepared]) -> None:
        events = [
            (
                *(e.id, item.reseller_id, item.organisation_id, e.event_type, e.user_id),
                *(e.team_id, e.timestamp_ms, e.body, len(e.body), item.received_at),
            )
            for item in items
            for e in item.events
        ]
        deliveries = [
            (
                delivery_id,
                item.reseller_id,
                event_id,
                webhook_id,
                event_type,
                item.received_at,
                item.traceparent,
            )
            for item in items
            for delivery_id, event_id, webhook_id, event_type in item.delivery_rows
        ]
        if events:  # one array per column (10 for the events, 7 for the deliveries)
            columns = [list(column) for column in zip(*events, strict=True)]
            columns += [list(column) for column in zip(*deliveries, strict=True)] or [[]] * 7
            await self._connection.execute(_PG_INSERT, *columns)


def asyncpg_dsn(database_url: str) -> str:
    """`postgresql+asyncpg://…` as the plain DSN asyncpg takes."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgWriter:
    """Writes through a pool of its own: no ORM, no pre-ping, one statement per step."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, settings: Settings, size: int) -> "PgWriter":
        pool = await asyncpg.create_pool(
            asyncpg_dsn(settings.database_url), min_size=1, max_size=size, timeout=10
        )
        return cls(pool)

    async def write(self, items: Sequence[Prepared], now: datetime, ttl: timedelta) -> None:
        async with self._pool.acquire(timeout=10) as connection:
            try:
                async with connection.transaction():
                    await _write(_PgTx(connection, now), items, now, ttl)
            except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as exc:
                # The client's side of a connection that broke mid-transaction (seen when
                # the server shuts down during a statement): nothing was committed, the
                # connection is unusable. Not a verdict on the statement: "unreachable".
                connection.terminate()
                raise ConnectionError(f"PostgreSQL connection broke: {exc}") from exc

    async def prune(self, now: datetime) -> None:
        async with self._pool.acquire(timeout=10) as connection:
            await connection.execute(_PG_PRUNE, now)

    async def close(self) -> None:
        await self._pool.close()


# -- SQLite: SQLAlchemy Core on the app's engine ---------------------------------------------


class _SqliteTx:
    def __init__(self, connection: AsyncConnection, now: datetime) -> None:
        self._connection = connection
        self._now = now

    async def subscribers(self, reseller_ids: set[str]) -> Subscribers:
        rows = await self._connection.execute(
            select(Webhook.id, Webhook.reseller_id, Webhook.events, Webhook.organisation_ids).where(
                Webhook.reseller_id.in_(reseller_ids),
                Webhook.enabled.is_(True),
                Webhook.deleted_at.is_(None),
            )
        )
        return _group_subscribers([(r[0], r[1], r[2], r[3]) for r in rows])

    async def claim_keys(self, items: Sequence[Prepared], expires_at: datetime) -> set[Any]:
        table = IdempotencyKey.__table__
        statement = sqlite_insert(IdempotencyKey).values(
            [
                {
                    "organisation_id": i.organisation_id,
                    "key": i.idempotency_key,
                    "request_hash": i.request_hash,
                    "response": i.response,
                    "created_at": self._now,
                    "expires_at": expires_at,
                }
                for i in items
            ]
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["organisation_id", "key"],
            set_={
                name: statement.excluded[name]
                for name in ("request_hash", "response", "created_at", "expires_at")
            },
            where=table.c.expires_at <= statement.excluded.created_at,
        ).returning(table.c.organisation_id, table.c.key)
        return {(r[0], r[1]) for r in await self._connection.execute(upsert)}

    async def stored_keys(self, items: Sequence[Prepared]) -> dict[Any, tuple[str, bytes]]:
        wanted = [(i.organisation_id, i.idempotency_key) for i in items]
        rows = await self._connection.execute(
            select(
                IdempotencyKey.organisation_id,
                IdempotencyKey.key,
                IdempotencyKey.request_hash,
                IdempotencyKey.response,
            ).where(tuple_(IdempotencyKey.organisation_id, IdempotencyKey.key).in_(wanted))
        )
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    async def insert(self, items: Sequence[Prepared]) -> None:
        events = [
            {
                "id": e.id,
                "reseller_id": item.reseller_id,
                "organisation_id": item.organisation_id,
                "event_type": e.event_type,
                "user_id": e.user_id,
                "team_id": e.team_id,
                "timestamp_ms": e.timestamp_ms,
                "body": e.body,
                "size": len(e.body),
                "received_at": item.received_at,
            }
            for item in items
            for e in item.events
        ]
        deliveries = [
            {
                "id": delivery_id,
                "reseller_id": item.reseller_id,
                "event_id": event_id,
                "webhook_id": webhook_id,
                "event_type": event_type,
                "status": PENDING,
                "attempt_count": 0,
                "next_attempt_at": item.received_at,
                "created_at": item.received_at,
                "updated_at": item.received_at,
                "traceparent": item.traceparent,
            }
            for item in items
            for delivery_id, event_id, webhook_id, event_type in item.delivery_rows
        ]
        if events:
            await self._connection.execute(insert(Event), events)
        if deliveries:
            await self._connection.execute(insert(Delivery), deliveries)


class SqliteWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, items: Sequence[Prepared], now: datetime, ttl: timedelta) -> None:
        async with self._engine.begin() as connection:
            await _write(_SqliteTx(connection, now), items, now, ttl)

    async def prune(self, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))

    async def close(self) -> None:
        pass


class Writer(Protocol):
    async def write(self, items: Sequence[Prepared], now: datetime, ttl: timedelta) -> None: ...

    async def prune(self, now: datetime) -> None: ...

    async def close(self) -> None: ...


@asynccontextmanager
async def open_writer(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Writer]:
    writer: Writer = (
        SqliteWriter(engine) if settings.is_sqlite else await PgWriter.open(settings, 5)
    )
    try:
        yield writer
    finally:
        await writer.close()
