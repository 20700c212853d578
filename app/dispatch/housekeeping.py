"""Endpoint health and retention: auto-disable of endpoints that keep failing, and
pruning of old attempt logs.

Every finished attempt feeds `record_endpoint_outcomes`: a success resets the
endpoint's failure streak, a failure extends it (and stamps when it began). An
endpoint is disabled once its streak is both old enough (`HOOKLINE_DISABLE_AFTER`) and
long enough (`HOOKLINE_DISABLE_MIN_FAILURES`), so a burst of failures in one bad
minute never disables anything and neither does one failure a day for a week.
Disabling cancels the endpoint's pending deliveries; they can be retried by hand
after it is re-enabled.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Delivery, DeliveryAttempt, Webhook
from app.models.delivery import CANCELLED, PENDING


async def record_endpoint_outcomes(
    session: AsyncSession,
    *,
    succeeded: Iterable[str],
    failed: dict[str, int],
    now: datetime,
) -> None:
    """Apply a batch of attempt outcomes (webhook ids) to the endpoints' failure streaks."""
    healthy = set(succeeded) - set(failed)
    if healthy:
        await session.execute(
            update(Webhook)
            .where(Webhook.id.in_(healthy), Webhook.consecutive_failures > 0)
            .values(consecutive_failures=0, failing_since=None)
        )
    for webhook_id, failures in failed.items():
        await session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(
                consecutive_failures=Webhook.consecutive_failures + failures,
                failing_since=case(
                    (Webhook.failing_since.is_(None), now), else_=Webhook.failing_since
                ),
            )
        )


async def disable_failing_endpoints(
    session: AsyncSession, *, now: datetime, disable_after: timedelta, min_failures: int
) -> list[tuple[str, str]]:
    """Disable endpoints past both thresholds; returns (reseller id, webhook id) of each."""
    rows = (
        await session.execute(
            select(
                Webhook.id, Webhook.reseller_id, Webhook.failing_since, Webhook.consecutive_failures
            )
            .where(
                Webhook.enabled.is_(True),
                Webhook.deleted_at.is_(None),
                Webhook.failing_since <= now - disable_after,
                Webhook.consecutive_failures >= min_failures,
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    for webhook_id, _, failing_since, failures in rows:
        days = (now - (failing_since or now)).total_seconds() / 86400
        reason = (
            f"Disabled automatically: {failures} consecutive failed attempts "
            f"over {days:.1f} days. Fix the endpoint, then re-enable it."
        )
        await session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        )
        await cancel_pending(session, webhook_id, now=now, reason="Webhook disabled")
    return [(reseller_id, webhook_id) for webhook_id, reseller_id, _, _ in rows]


async def cancel_pending(
    session: AsyncSession, webhook_id: str, *, now: datetime, reason: str
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.webhook_id == webhook_id, Delivery.status == PENDING)
        .values(
            status=CANCELLED,
            next_attempt_at=None,
            lease_token=None,
            last_error=reason,
            completed_at=now,
            updated_at=now,
        )
    )


async def prune_attempts(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Delete attempt logs older than the retention period; returns how many."""
    cutoff = now - timedelta(days=retention_days)
    count = (
        await session.execute(
            select(func.count())
            .select_from(DeliveryAttempt)
            .where(DeliveryAttempt.attempted_at < cutoff)
        )
    ).scalar_one()
    if count:
        await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.attempted_at < cutoff))
    return int(count)
