"""Endpoint health: one webhook's attempts in a window, counted from the attempt log.

The log is read through `ix_delivery_attempts_webhook_id_attempted_at`: one
endpoint's attempts in a window are one range of that index however many millions of
attempts the table holds (the tests assert the plan on both databases). `webhook_id`
is denormalised onto each attempt when it is recorded, so no join is needed. A busy
endpoint's 24 h or 7 d (more than `RAW_LIMIT` attempts) is read from the hourly
rollups instead (`dispatch.rollups`, a range of their primary key): the same counts,
written with the attempts, and percentiles from their latency histogram, flagged
`latencyApproximate` (within 1/16 of the exact value).

Buckets are aligned to multiples of their size (5 min, 1 h, 6 h) in UTC and the window
ends at the end of the bucket holding `until` (default now), so a chart refreshed a
minute later shows the same buckets; every bucket is present, empty ones as zeros.
Latency percentiles are over the attempts that got an HTTP answer (timeouts and
refusals have no response time; they are counted by kind instead), interpolated
like PostgreSQL's `percentile_cont` on both databases.
"""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Float, Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.config import Settings
from app.dispatch.rollups import UNANSWERED, bucket_range
from app.egress.sender import AttemptKind
from app.errors import ValidationFailed
from app.kit.schema import Schema
from app.models import AttemptRollup, DeliveryAttempt, Webhook

StatsWindow = Literal["1h", "24h", "7d"]
WINDOWS: dict[str, tuple[int, int]] = {  # window → (its seconds, a bucket's seconds)
    "1h": (3600, 300),
    "24h": (86_400, 3600),
    "7d": (7 * 86_400, 6 * 3600),
}
PERCENTILES = (0.5, 0.95)
# Attempts in a 24 h or 7 d window up to which the stats read the attempt log itself
# (~35 ms at PostgreSQL's p99 for 28,000); beyond, the hourly rollups.
RAW_LIMIT = 20_000


class Failures(Schema):
    timeout: int = 0
    network_error: int = 0
    http_error: int = 0
    refused: int = 0


class Latency(Schema):
    p50: float | None
    p95: float | None


class Bucket(Schema):
    start: datetime
    attempts: int = 0
    successes: int = 0
    failures: int = 0
    latency_ms: float | None = None  # mean of the bucket's answered attempts (the sparkline)
    answered: int = Field(default=0, exclude=True)
    latency_total: int = Field(default=0, exclude=True)


class EndpointState(Schema):
    state: Literal["healthy", "failing", "paused", "disabled"]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    breaker: Literal["open", "closed"]


class StatsOut(Schema):
    webhook_id: str
    window: str
    since: datetime
    until: datetime
    bucket_seconds: int
    attempts: int
    successes: int
    failures: Failures
    success_rate: float | None
    latency_ms: Latency
    latency_approximate: bool = False  # the percentiles are from the rollups' histogram
    series: list[Bucket]
    endpoint: EndpointState


EARLIEST_UNTIL = datetime(1970, 1, 8, tzinfo=UTC)  # a week after the epoch
LATEST_UNTIL = datetime(3000, 1, 1, tzinfo=UTC)


def check_until(until: datetime | None) -> None:
    """A window must fit in datetimes (and after 1970): else 422, never an overflow."""
    if until is not None and not EARLIEST_UNTIL <= until < LATEST_UNTIL:
        message = "Must be between 1970-01-08 and 2999"
        raise ValidationFailed(f"until: {message}", fields={"until": message})


def window_bounds(window: str, until: datetime) -> tuple[datetime, datetime, int]:
    """(start, end, bucket seconds): end is `until` rounded up to a bucket boundary."""
    span, size = WINDOWS[window]
    end = math.ceil(until.timestamp() / size) * size
    return (
        datetime.fromtimestamp(end - span, UTC),
        datetime.fromtimestamp(end, UTC),
        size,
    )


def _kind() -> ColumnElement[Any]:
    """The attempt's kind; rows written without one are classified by their status code."""
    status = DeliveryAttempt.status_code
    return func.coalesce(
        DeliveryAttempt.kind,
        case(
            (and_(status >= 200, status < 300), AttemptKind.SUCCESS.value),
            (status.is_not(None), AttemptKind.HTTP_ERROR.value),
            else_=AttemptKind.NETWORK_ERROR.value,
        ),
    )


def _bucket(
    dialect: str, start: datetime, size: int, moment: Any = DeliveryAttempt.attempted_at
) -> ColumnElement[Any]:
    """The attempt's (or rollup hour's) bucket: its start on PostgreSQL (`date_bin`, no
    numeric arithmetic per row: `extract(epoch …)` is numeric and cost a third of the
    query), its index on SQLite (naive UTC text, which strftime('%s') reads as UTC seconds)."""
    if dialect == "postgresql":
        return func.date_bin(timedelta(seconds=size), moment, start)
    seconds = cast(func.strftime("%s", moment), Integer)
    return (seconds - int(start.timestamp())) / size  # integers: SQLite divides exactly


def _index(value: Any, start: datetime, size: int) -> int:
    if isinstance(value, datetime):
        return int((value - start).total_seconds()) // size
    return int(value)


def in_window(webhook_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        DeliveryAttempt.webhook_id == webhook_id,
        DeliveryAttempt.attempted_at >= start,
        DeliveryAttempt.attempted_at < end,
    ]


def counts_query(dialect: str, webhook_id: str, start: datetime, end: datetime, size: int) -> Any:
    # Grouped by the output names (not column names: PostgreSQL would take `kind` as the
    # table's column), so each expression is written once.
    bucket = _bucket(dialect, start, size).label("bucket_index")
    kind = _kind().label("attempt_kind")
    answered = DeliveryAttempt.status_code.is_not(None)
    return (
        select(
            bucket,
            kind,
            func.count().label("n"),
            func.count(DeliveryAttempt.status_code).label("answered"),
            func.coalesce(
                func.sum(case((answered, DeliveryAttempt.latency_ms), else_=None)), 0
            ).label("latency_total"),
        )
        .where(*in_window(webhook_id, start, end))
        .group_by(literal_column("bucket_index"), literal_column("attempt_kind"))
    )


def rollup_counts_query(
    dialect: str, webhook_id: str, start: datetime, end: datetime, size: int
) -> Any:
    """`counts_query` from the hourly rollups: the same rows (bucket, kind, attempts,
    answered, latency total), for windows whose buckets are whole hours."""
    bucket = _bucket(dialect, start, size, AttemptRollup.hour).label("bucket_index")
    answered = AttemptRollup.latency_bucket != UNANSWERED
    return (
        select(
            bucket,
            AttemptRollup.kind.label("attempt_kind"),
            func.sum(AttemptRollup.attempts).label("n"),
            func.sum(case((answered, AttemptRollup.attempts), else_=0)).label("answered"),
            func.sum(case((answered, AttemptRollup.latency_total), else_=0)).label("latency_total"),
        )
        .where(*rollups_in_window(webhook_id, start, end))
        .group_by(literal_column("bucket_index"), literal_column("attempt_kind"))
    )


def rollups_in_window(webhook_id: str, start: datetime, end: datetime) -> list[Any]:
    return [
        AttemptRollup.webhook_id == webhook_id,
        AttemptRollup.hour >= start,
        AttemptRollup.hour < end,
    ]


def histogram_query(webhook_id: str, start: datetime, end: datetime) -> Any:
    """The window's answered attempts per latency bucket, in bucket order."""
    return (
        select(AttemptRollup.latency_bucket, func.sum(AttemptRollup.attempts))
        .where(
            *rollups_in_window(webhook_id, start, end),
            AttemptRollup.latency_bucket != UNANSWERED,
        )
        .group_by(AttemptRollup.latency_bucket)
        .order_by(AttemptRollup.latency_bucket)
    )


async def _histogram_percentiles(
    session: AsyncSession, webhook_id: str, start: datetime, end: datetime
) -> list[float | None]:
    rows = await session.execute(histogram_query(webhook_id, start, end))
    return histogram_percentiles([(int(b), int(n)) for b, n in rows], PERCENTILES)


def histogram_percentiles(
    histogram: list[tuple[int, int]], percentiles: tuple[float, ...]
) -> list[float | None]:
    """`percentile_cont` over a latency histogram ((bucket, count) by bucket): each rank's
    value is placed evenly inside its bucket, so it is within the bucket's width (at most
    1/16 of the value) of the exact one."""
    total = sum(count for _, count in histogram)
    if not total:
        return [None for _ in percentiles]

    def value_at(rank: int) -> float:
        seen = 0
        for bucket, count in histogram:
            if rank < seen + count:
                low, high = bucket_range(bucket)
                return low + (high - low) * (rank - seen + 0.5) / count
            seen += count
        raise AssertionError("rank beyond the histogram")

    found: list[float | None] = []
    for p in percentiles:
        rank = p * (total - 1)
        low = math.floor(rank)
        below = value_at(low)
        above = value_at(min(low + 1, total - 1))
        found.append(below + (above - below) * (rank - low))
    return found


async def _percentiles(
    session: AsyncSession, dialect: str, webhook_id: str, start: datetime, end: datetime
) -> list[float | None]:
    answered = [*in_window(webhook_id, start, end), DeliveryAttempt.status_code.is_not(None)]
    latency = DeliveryAttempt.latency_ms
    if dialect == "postgresql":
        row = (
            await session.execute(
                select(
                    *(
                        func.percentile_cont(p).within_group(latency.asc()).cast(Float)
                        for p in PERCENTILES
                    )
                ).where(*answered)
            )
        ).one()
        return [None if v is None else float(v) for v in row]
    # SQLite has no percentile_cont: the two neighbouring values by OFFSET, interpolated
    # exactly as percentile_cont does (rank p·(n-1) between them).
    count = (await session.execute(select(func.count()).where(*answered))).scalar_one()
    if not count:
        return [None for _ in PERCENTILES]
    found: list[float | None] = []
    for p in PERCENTILES:
        rank = p * (count - 1)
        low = math.floor(rank)
        values = list(
            (
                await session.execute(
                    select(latency).where(*answered).order_by(latency).limit(2).offset(low)
                )
            ).scalars()
        )
        high = values[1] if len(values) > 1 else values[0]
        found.append(values[0] + (high - values[0]) * (rank - low))
    return found


def endpoint_state(webhook: Webhook, settings: Settings) -> EndpointState:
    """For the card and the log page. The breaker is each dispatcher's own (in memory);
    every one of them trips on the same recorded failure streak, read here."""
    threshold = settings.breaker_failures
    tripped = bool(threshold) and webhook.consecutive_failures >= threshold
    if not webhook.enabled:
        state: Literal["healthy", "failing", "paused", "disabled"] = "disabled"
    elif tripped:
        state = "paused"
    elif webhook.consecutive_failures:
        state = "failing"
    else:
        state = "healthy"
    return EndpointState(
        state=state,
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
        disabled_at=webhook.disabled_at,
        consecutive_failures=webhook.consecutive_failures,
        failing_since=webhook.failing_since,
        breaker="open" if tripped and webhook.enabled else "closed",
    )


async def endpoint_stats(
    session: AsyncSession,
    settings: Settings,
    webhook: Webhook,
    window: str,
    until: datetime,
    *,
    raw_limit: int = RAW_LIMIT,
) -> StatsOut:
    """Up to `raw_limit` attempts in the window, everything is read from the attempt log
    (exact percentiles); beyond it (a busy endpoint's day or week) the counts come from
    the hourly rollups (as exact) and the percentiles from their latency histogram."""
    dialect = session.get_bind().dialect.name
    start, end, size = window_bounds(window, until)
    series = [
        Bucket(start=start + timedelta(seconds=i * size)) for i in range(WINDOWS[window][0] // size)
    ]
    failures = Failures()
    successes = 0
    rows: Sequence[Any] = []
    from_rollups = False
    if size % 3600 == 0:  # whole hours: the rollups hold exactly the window's attempts
        rows = (
            await session.execute(rollup_counts_query(dialect, webhook.id, start, end, size))
        ).all()
        from_rollups = sum(row[2] for row in rows) > raw_limit
    if not from_rollups:
        rows = (await session.execute(counts_query(dialect, webhook.id, start, end, size))).all()
    for index, kind, n, answered, latency_total in rows:
        n, answered = int(n), int(answered)
        bucket = series[_index(index, start, size)]
        bucket.attempts += n
        bucket.answered += answered
        bucket.latency_total += int(latency_total)
        if kind == AttemptKind.SUCCESS.value:
            bucket.successes += n
            successes += n
        else:
            bucket.failures += n
            field = kind if kind in Failures.model_fields else AttemptKind.NETWORK_ERROR.value
            setattr(failures, field, getattr(failures, field) + n)
    for bucket in series:
        if bucket.answered:
            bucket.latency_ms = bucket.latency_total / bucket.answered
    attempts = sum(b.attempts for b in series)
    if from_rollups:
        p50, p95 = await _histogram_percentiles(session, webhook.id, start, end)
    else:
        p50, p95 = await _percentiles(session, dialect, webhook.id, start, end)
    return StatsOut(
        webhook_id=webhook.id,
        window=window,
        since=start,
        until=end,
        bucket_seconds=size,
        attempts=attempts,
        successes=successes,
        failures=failures,
        success_rate=successes / attempts if attempts else None,
        latency_ms=Latency(p50=p50, p95=p95),
        latency_approximate=from_rollups,
        series=series,
        endpoint=endpoint_state(webhook, settings),
    )
