"""Hourly attempt rollups: what the endpoint stats read for a busy endpoint's day or week.

`attempt_rollups` counts each endpoint's attempts per UTC hour, kind and latency bucket,
written by the result writer in the same transaction (on PostgreSQL the same statement)
as the attempt rows, so the rollups and the log never disagree. A week of an endpoint
taking 200,000 attempts is then a few thousand rollup rows instead of 200,000 to sort.

Latency buckets are integers, computed the same way in Python (the writer) and in SQL
(the migration's backfill): values below 32 ms are exact, above that 16 buckets per
power of two, so a bucket is at most 1/16 (6.25 %) of its lower bound wide and a
percentile read from the histogram is within that of the exact one. Attempts without an
HTTP answer (timeouts, refusals, network errors) are counted in bucket -1.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    column,
    func,
    insert,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from app.db.base import UTCDateTime

ROLLUP_KEY = ("webhook_id", "hour", "kind", "latency_bucket")  # the primary key
UNANSWERED = -1
EXACT_BELOW = 32  # ms: one bucket per millisecond
PER_OCTAVE = 16
_MAX_SHIFT = 26  # 2**31: the largest latency an integer column holds


def latency_bucket(status_code: int | None, latency_ms: int) -> int:
    """The bucket of one attempt (-1 when it got no HTTP answer)."""
    if status_code is None:
        return UNANSWERED
    ms = max(latency_ms, 0)
    if ms < EXACT_BELOW:
        return ms
    shift = ms.bit_length() - 5  # ms >> shift is in [16, 32)
    return PER_OCTAVE * shift + (ms >> shift)


def bucket_range(bucket: int) -> tuple[int, int]:
    """The latencies (ms, both ends included) a bucket holds."""
    if bucket < EXACT_BELOW:
        return bucket, bucket
    shift = bucket // PER_OCTAVE - 1
    mantissa = bucket - PER_OCTAVE * shift
    return mantissa << shift, ((mantissa + 1) << shift) - 1


def latency_bucket_sql(
    status_code: ColumnElement[Any], latency_ms: ColumnElement[Any]
) -> ColumnElement[Any]:
    """`latency_bucket` in SQL, integer arithmetic only (the same on both databases)."""
    whens: list[tuple[ColumnElement[bool], Any]] = [
        (status_code.is_(None), literal(UNANSWERED)),
        (latency_ms < 0, literal(0)),
        (latency_ms < EXACT_BELOW, latency_ms),
    ]
    for shift in range(1, _MAX_SHIFT):
        whens.append(
            (latency_ms < (1 << (shift + 5)), PER_OCTAVE * shift + latency_ms // (1 << shift))
        )
    # The last octave needs no bound (2**31 is no int4 parameter).
    return case(*whens, else_=PER_OCTAVE * _MAX_SHIFT + latency_ms // (1 << _MAX_SHIFT))


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def rollup_rows(attempts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A batch's attempt rows added up per rollup key, sorted by key: writers that update
    the same hot rows then lock them in the same order (no deadlock), and no statement
    updates a row twice (PostgreSQL's ON CONFLICT refuses that)."""
    totals: dict[tuple[str, datetime, str, int], list[int]] = {}
    for row in attempts:
        key = (
            row["webhook_id"],
            hour_of(row["attempted_at"]),
            row["kind"],
            latency_bucket(row["status_code"], row["latency_ms"]),
        )
        total = totals.setdefault(key, [0, 0])
        total[0] += 1
        total[1] += row["latency_ms"]
    return [
        {
            "webhook_id": webhook_id,
            "hour": hour,
            "kind": kind,
            "latency_bucket": bucket,
            "attempts": attempts_,
            "latency_total": latency_total,
        }
        for (webhook_id, hour, kind, bucket), (attempts_, latency_total) in sorted(totals.items())
    ]


def backfill_statement(dialect: str) -> Any:
    """Every existing attempt added to the rollups, in one INSERT … SELECT … GROUP BY
    (migration 0008 runs it; so does `bench.bench_stats` after loading its log). Light
    table constructs, not the models, so the migration keeps meaning what it meant."""
    attempts = table(
        "delivery_attempts",
        column("webhook_id", String()),
        column("attempted_at", UTCDateTime()),
        column("kind", String()),
        column("status_code", Integer()),
        column("latency_ms", Integer()),
    )
    rollups = table(
        "attempt_rollups",
        *(column(name) for name in (*ROLLUP_KEY, "attempts", "latency_total")),
    )
    status = attempts.c.status_code
    if dialect == "postgresql":
        hour: ColumnElement[Any] = func.date_bin(
            text("interval '1 hour'"), attempts.c.attempted_at, text("timestamptz 'epoch'")
        )
    else:  # naive UTC text, as SQLAlchemy writes it
        hour = func.strftime("%Y-%m-%d %H:00:00.000000", attempts.c.attempted_at)
    kind = func.coalesce(  # as `webhooks.stats` classifies rows written without a kind
        attempts.c.kind,
        case(
            (and_(status >= 200, status < 300), "success"),
            (status.is_not(None), "http_error"),
            else_="network_error",
        ),
    )
    bucket = latency_bucket_sql(status, attempts.c.latency_ms)
    keys = (attempts.c.webhook_id, hour, kind, bucket)
    source = (
        select(*keys, func.count(), func.coalesce(func.sum(attempts.c.latency_ms), 0))
        .where(attempts.c.webhook_id.is_not(None))
        .group_by(text("1, 2, 3, 4"))  # by position: the CASE's parameters differ each time
    )
    return insert(rollups).from_select(list(rollups.c.keys()), source)
