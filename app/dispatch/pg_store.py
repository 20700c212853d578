"""The dispatcher's PostgreSQL fast path: raw asyncpg on its own small pool.

Profiled at the defaults, a claim through the ORM cost six round trips (pool ping,
BEGIN, the statements, COMMIT) of 10-40 ms each on a busy event loop, so one claim of
200 rows took about 100 ms: longer than the attempts it fed. Here a claim is two
statements and a batch of results one, each its own transaction:

- the due rows (no lock; filtered by endpoint budget in Python), then one statement
  that locks what is still due (`FOR UPDATE SKIP LOCKED`: workers never wait on each
  other), leases it and returns it joined with its webhook and event body;
- every attempt row, every delivery update (guarded by the lease token; the cancel rule
  of `dispatch.results`), every endpoint streak and the batch's hourly rollups
  (`dispatch.rollups`) in one statement, so a batch is atomic and fails as a whole,
  and `ResultWriter` can then write it one by one.

Endpoints with a limit across processes are excluded here and claimed by the ORM path
under their webhook row's lock (`dispatch.limits`).
"""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from app.dispatch.listen import asyncpg_dsn
from app.dispatch.rollups import ROLLUP_KEY
from app.dispatch.streaks import streak_changes

if TYPE_CHECKING:
    from app.dispatch.results import Rows
from app.models.delivery import CANCELLED, PENDING

_LIMITED = "(w.max_in_flight IS NOT NULL OR w.rate_per_second IS NOT NULL)"

# In index order with a LIMIT: the scan stops after `limit` rows instead of reading
# the whole backlog (a join or NOT EXISTS here made it read and sort all due rows). The
# limited endpoints are excluded exactly, by an array computed once per statement.
DUE = f"""
SELECT d.id, d.webhook_id FROM deliveries d
WHERE d.status = '{PENDING}' AND d.next_attempt_at <= $1
  AND d.webhook_id <> ALL($2::varchar[]) AND d.id <> ALL($4::varchar[])
  AND d.webhook_id <> ALL(ARRAY(SELECT w.id FROM webhooks w WHERE {_LIMITED}))
ORDER BY d.next_attempt_at
LIMIT $3
"""  # noqa: S608 - constants only; every value is a parameter

TAKE = f"""
WITH due AS (
    SELECT id FROM deliveries
    WHERE id = ANY($1::varchar[]) AND status = '{PENDING}' AND next_attempt_at <= $2
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE deliveries d SET next_attempt_at = $3, lease_token = $4, updated_at = $2
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.attempt_count, d.webhook_id, d.event_type, d.event_id, d.traceparent
)
SELECT t.id, t.attempt_count, t.webhook_id, t.event_type, w.url, w.secret,
       w.enabled AND w.deleted_at IS NULL AS live, e.body,
       w.signature_scheme, w.previous_secret, w.previous_secret_expires_at,
       t.traceparent, w.send_traceparent
FROM taken t JOIN webhooks w ON w.id = t.webhook_id JOIN events e ON e.id = t.event_id
"""  # noqa: S608

RECORD = f"""
WITH attempts AS (
    INSERT INTO delivery_attempts (id, delivery_id, attempt_number, attempted_at,
                                   status_code, latency_ms, response_body, error,
                                   webhook_id, kind, request_headers)
    SELECT a.id, a.delivery_id, a.n, a.at, a.code, a.ms, a.body, a.error, a.webhook_id,
           a.kind, a.headers::json
    FROM unnest($1::varchar[], $2::varchar[], $3::int[], $4::timestamptz[], $5::int[],
                $6::int[], $7::text[], $8::text[], $23::varchar[], $24::varchar[], $25::text[])
         AS a(id, delivery_id, n, at, code, ms, body, error, webhook_id, kind, headers)
), results AS (
    UPDATE deliveries d SET
        status = CASE WHEN d.status = '{CANCELLED}' AND NOT v.ok THEN d.status ELSE v.status END,
        attempt_count = v.count,
        next_attempt_at = CASE WHEN d.status = '{CANCELLED}' AND NOT v.ok THEN NULL
                               ELSE v.next END,
        lease_token = NULL,
        last_status_code = v.code,
        last_error = CASE WHEN d.status = '{CANCELLED}' AND NOT v.ok THEN d.last_error
                          ELSE v.error END,
        updated_at = v.now,
        completed_at = CASE WHEN d.status = '{CANCELLED}' AND NOT v.ok THEN d.completed_at
                            ELSE v.done END
    FROM unnest($9::varchar[], $10::varchar[], $11::bool[], $12::varchar[], $13::int[],
                $14::timestamptz[], $15::int[], $16::text[], $17::timestamptz[],
                $18::timestamptz[])
         AS v(id, token, ok, status, count, next, code, error, now, done)
    WHERE d.id = v.id AND d.lease_token = v.token
), streaks AS (
    UPDATE webhooks w SET
        consecutive_failures = CASE WHEN s.reset THEN s.failures
                                    ELSE w.consecutive_failures + s.failures END,
        failing_since = CASE WHEN s.reset THEN s.since
                             ELSE COALESCE(w.failing_since, s.since) END
    FROM unnest($19::varchar[], $20::bool[], $21::int[], $22::timestamptz[])
         AS s(id, reset, failures, since)
    WHERE w.id = s.id AND (s.failures > 0 OR w.consecutive_failures > 0)
), rollups AS (
    INSERT INTO attempt_rollups AS r (webhook_id, hour, kind, latency_bucket, attempts,
                                      latency_total)
    SELECT * FROM unnest($26::varchar[], $27::timestamptz[], $28::varchar[], $29::smallint[],
                         $30::int[], $31::bigint[])
    ON CONFLICT (webhook_id, hour, kind, latency_bucket) DO UPDATE
    SET attempts = r.attempts + excluded.attempts,
        latency_total = r.latency_total + excluded.latency_total
)
SELECT 1
"""  # noqa: S608

LIMITED = f"""
SELECT w.id FROM webhooks w WHERE {_LIMITED} AND w.enabled AND w.deleted_at IS NULL
"""  # noqa: S608

RELEASE = """
UPDATE deliveries d SET next_attempt_at = $3, lease_token = NULL, updated_at = $4
FROM unnest($1::varchar[], $2::varchar[]) AS r(id, token)
WHERE d.id = r.id AND d.lease_token = r.token
"""


class PgStore:
    """Claims and result writes on a pool of its own (never the API's)."""

    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self._pool = pool

    @classmethod
    async def open(cls, database_url: str) -> "PgStore":
        pool = await asyncpg.create_pool(
            asyncpg_dsn(database_url),
            min_size=1,
            max_size=4,
            # After five runs PostgreSQL switches a prepared statement to a generic plan;
            # for `id = ANY($1)` next to `next_attempt_at <= $2` that plan scans every due
            # row instead of looking the ids up (8 ms became 40 ms per claim, measured).
            # A queue's statistics are always stale: planned as "a few due rows", the due
            # scan became a bitmap scan that reads and sorts the whole backlog. In index
            # order it stops after the rows it needs.
            server_settings={"plan_cache_mode": "force_custom_plan", "enable_bitmapscan": "off"},
        )
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def due(
        self, now: datetime, limit: int, excluded: list[str], chosen: list[str]
    ) -> list[tuple[str, str]]:
        """Due rows of endpoints not excluded, oldest first (no lock: `take` re-checks)."""
        rows = await self._pool.fetch(DUE, now, excluded, limit, chosen)
        return [(r["id"], r["webhook_id"]) for r in rows]

    async def limited(self) -> list[str]:
        rows = await self._pool.fetch(LIMITED)
        return [r["id"] for r in rows]

    async def take(
        self, ids: list[str], now: datetime, leased_until: datetime, token: str
    ) -> list[asyncpg.Record]:
        records: list[asyncpg.Record] = await self._pool.fetch(TAKE, ids, now, leased_until, token)
        return records

    async def release(self, leases: Mapping[str, str], at: datetime, now: datetime) -> None:
        await self._pool.execute(RELEASE, list(leases), list(leases.values()), at, now)

    async def record(self, rows: "Rows") -> None:
        a, u = rows.attempts, rows.updates
        streaks = streak_changes(rows.streaks)
        await self._pool.execute(
            RECORD,
            *([r[k] for r in a] for k in _ATTEMPT_KEYS),
            *([r[k] for r in u] for k in _UPDATE_KEYS),
            *([s[i] for s in streaks] for i in range(4)),
            [r["webhook_id"] for r in a],
            [r["kind"] for r in a],
            [None if r["request_headers"] is None else json.dumps(r["request_headers"]) for r in a],
            *([r[k] for r in rows.rollups] for k in _ROLLUP_KEYS),
        )


_ATTEMPT_KEYS = (
    "id",
    "delivery_id",
    "attempt_number",
    "attempted_at",
    "status_code",
    "latency_ms",
    "response_body",
    "error",
)
# Pre-added per key and sorted by it (`rollups.rollup_rows`); unnest keeps that order, so
# workers lock the hot rollup rows in the same order (they wait, never deadlock).
_ROLLUP_KEYS = (*ROLLUP_KEY, "attempts", "latency_total")
_UPDATE_KEYS = (
    "b_id",
    "b_token",
    "b_ok",
    "b_status",
    "b_count",
    "b_next",
    "b_code",
    "b_error",
    "b_now",
    "b_done",
)
