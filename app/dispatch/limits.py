"""Per-webhook limits that hold across every worker process: `maxInFlight` and
`ratePerSecond`.

The shared state is the database every worker already has (Redis is optional):
attempts in flight are the endpoint's leased rows (`ix_deliveries_leased`), and the
rate's token bucket is kept on the webhook row. A claim of a limited endpoint locks
that row first (an UPDATE, on PostgreSQL and SQLite alike), so two workers can never
both see room for the same slot or token. Limited endpoints are not claimed ahead:
what is claimed may start at once. The bucket holds at most one second of tokens
(at least one), so bursts never exceed the rate by more than that.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Delivery, Webhook
from app.models.delivery import PENDING


@dataclass(frozen=True, slots=True)
class Limited:
    webhook_id: str
    max_in_flight: int | None
    rate_per_second: float | None


def refill(tokens: float | None, refilled_at: datetime | None, rate: float, now: datetime) -> float:
    """The bucket's tokens at `now`: `rate` per second since the last refill, capped."""
    capacity = max(1.0, rate)
    if tokens is None or refilled_at is None:
        return capacity
    elapsed = max(0.0, (now - refilled_at).total_seconds())
    return min(capacity, tokens + rate * elapsed)


async def limited_endpoints(session: AsyncSession) -> list[Limited]:
    """Enabled webhooks with a limit (a partial index keeps this small and cheap)."""
    rows = await session.execute(
        select(Webhook.id, Webhook.max_in_flight, Webhook.rate_per_second).where(
            (Webhook.max_in_flight.is_not(None)) | (Webhook.rate_per_second.is_not(None)),
            Webhook.enabled.is_(True),
            Webhook.deleted_at.is_(None),
        )
    )
    return [Limited(w, m, r) for w, m, r in rows]


async def has_due(session: AsyncSession, webhook_id: str, now: datetime) -> bool:
    query = (
        select(Delivery.id)
        .where(
            Delivery.webhook_id == webhook_id,
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
        )
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


async def allowance(
    session: AsyncSession, webhook_id: str, now: datetime, wanted: int
) -> tuple[int, float | None]:
    """Lock the webhook row; returns how many may be claimed now and, when the rate is
    what stops it, the seconds until the next token."""
    row = (
        await session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(rate_tokens=Webhook.rate_tokens, updated_at=Webhook.updated_at)  # the row lock
            .returning(
                Webhook.max_in_flight,
                Webhook.rate_per_second,
                Webhook.rate_tokens,
                Webhook.rate_refilled_at,
            )
        )
    ).first()
    if row is None:
        return 0, None
    max_in_flight, rate, tokens, refilled_at = row
    allowed = wanted
    if max_in_flight is not None:
        leased = (
            await session.execute(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.webhook_id == webhook_id,
                    Delivery.lease_token.is_not(None),
                    Delivery.next_attempt_at > now,
                )
            )
        ).scalar_one()
        allowed = min(allowed, max_in_flight - int(leased))
    wait = None
    if rate is not None:
        available = refill(tokens, refilled_at, rate, now)
        allowed = min(allowed, math.floor(available))
        if allowed <= 0 and available < 1:
            wait = (1 - available) / rate
    return max(0, allowed), wait


async def spend(session: AsyncSession, webhook_id: str, taken: int, now: datetime) -> None:
    """Take `taken` tokens from the bucket (rate-limited webhooks; a no-op otherwise)."""
    row = (
        await session.execute(
            select(Webhook.rate_per_second, Webhook.rate_tokens, Webhook.rate_refilled_at).where(
                Webhook.id == webhook_id
            )
        )
    ).first()
    if row is None:
        return
    rate, tokens, refilled_at = row
    if rate is None:
        return
    left = refill(tokens, refilled_at, rate, now) - taken
    await session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(rate_tokens=left, rate_refilled_at=now, updated_at=Webhook.updated_at)
    )
