"""Endpoint health: one webhook's attempts in a window, counted from the attempt log.

Everything is read through `ix_delivery_attempts_webhook_id_attempted_at`: one
endpoint's attempts in a window are one range of that index however many millions of
attempts the table holds (the tests assert the plan on both databases). `webhook_id`
is denormalised onto each attempt when it is recorded, so no join is needed.

Buckets are aligned to multiples of their size (5 min, 1 h, 6 h) in UTC and the window
ends at the end of the bucket holding `until` (default now), so a chart refreshed a
minute later shows the same buckets; every bucket is present, empty ones as zeros.
Latency percentiles are over the attempts that got an HTTP answer (timeouts and
refusals have no response time; they are counted by kind instead), interpolated
like PostgreSQL's `percentile_cont` on both databases.
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Float, Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.config import Settings
from app.egress.sender import AttemptKind
from app.errors import ValidationFailed
from app.kit.schema import Schema
from app.models import DeliveryAttempt, Webhook

StatsWindow = Literal["1h", "24h", "7d"]
WINDOWS: dict[str, tuple[int, int]] = {  # window → (its seconds, a bucket's seconds)
    "1h": (3600, 300),
    "24h": (86_400, 3600),
    "7d": (7 * 86_400, 6 * 3600),
}
PERCENTILES = (0.5, 0.95)


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


def _bucket(dialect: str, start: datetime, size: int) -> ColumnElement[Any]:
    """The attempt's bucket: its start on PostgreSQL (`date_bin`, no numeric arithmetic
    per row: `extract(epoch …)` is numeric and cost a third of the query), its index on
    SQLite (naive UTC text, which strftime('%s') reads as UTC seconds)."""
    if dialect == "postgresql":
        return func.date_bin(timedelta(seconds=size), DeliveryAttempt.attempted_at, start)
    seconds = cast(func.strftime("%s", DeliveryAttempt.attempted_at), Integer)
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
) -> StatsOut:
    dialect = session.get_bind().dialect.name
    start, end, size = window_bounds(window, until)
    series = [
        Bucket(start=start + timedelta(seconds=i * size)) for i in range(WINDOWS[window][0] // size)
    ]
    failures = Failures()
    successes = 0
    rows = await session.execute(counts_query(dialect, webhook.id, start, end, size))
    for index, kind, n, answered, latency_total in rows:
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
        series=series,
        endpoint=endpoint_state(webhook, settings),
    )
