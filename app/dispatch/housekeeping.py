"""Endpoint health and retention: auto-disable of endpoints that keep failing, pruning
of old attempt logs, and forgetting rotated-out secrets once their overlap is over.

The failure streaks that auto-disable reads are kept by `dispatch.streaks`. An
endpoint is disabled once its streak is both old enough (`HOOKLINE_DISABLE_AFTER`) and
long enough (`HOOKLINE_DISABLE_MIN_FAILURES`), so a burst of failures in one bad
minute never disables anything and neither does one failure a day for a week.
Disabling cancels the endpoint's pending deliveries; they can be retried by hand
after it is re-enabled.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.rows import changed_rows
from app.deliveries.service import cancel_pending
from app.dispatch.rollups import hour_of
from app.kit.ids import first_id_at
from app.models import AttemptRollup, Delivery, DeliveryAttempt, Event, Webhook
from app.models.delivery import PENDING

log = logging.getLogger(__name__)


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
        await cancel_pending(session, now=now, reason="Webhook disabled", webhook_id=webhook_id)
    return [(reseller_id, webhook_id) for webhook_id, reseller_id, _, _ in rows]


async def prune_attempts(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Delete attempt logs older than the retention period, and their hourly rollups;
    returns how many attempts."""
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
    # The hours wholly before the cutoff (the one it falls in goes at the next round after).
    await session.execute(delete(AttemptRollup).where(AttemptRollup.hour < hour_of(cutoff)))
    return int(count)


EVENT_PRUNE_BATCH = 5000


async def forget_expired_secrets(session: AsyncSession, *, now: datetime) -> int:
    """Drop the previous secrets whose rotation overlap is over: they sign nothing any more
    (`Signing.secrets_at`), so they need not stay in the database either."""
    result = await session.execute(
        update(Webhook)
        .where(Webhook.previous_secret_expires_at <= now)
        .values(previous_secret=None, previous_secret_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result)


async def prune_events(
    session: AsyncSession, *, now: datetime, retention_days: int, batch: int = EVENT_PRUNE_BATCH
) -> int:
    """Delete up to `batch` events older than `HOOKLINE_EVENT_RETENTION_DAYS` that no
    pending delivery needs (their finished deliveries and attempts go with them, by
    cascade); returns how many. Ids are time-ordered, so the age test is an index range."""
    cutoff = now - timedelta(days=retention_days)
    still_needed = (
        select(Delivery.id)
        .where(Delivery.event_id == Event.id, Delivery.status == PENDING)
        .exists()
    )
    old = (Event.id < first_id_at("evt", cutoff), Event.received_at < cutoff, ~still_needed)
    ids = (await session.execute(select(Event.id).where(*old).limit(batch))).scalars().all()
    if ids:
        # The conditions again: a delivery made pending since the select keeps its event.
        await session.execute(delete(Event).where(Event.id.in_(ids), *old))
    return len(ids)


HOUSEKEEPING_INTERVAL_SECONDS = 60.0


async def housekeeping_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    on_disabled: Callable[[str], None] = lambda _: None,
) -> tuple[int, int]:
    """One round: disable endpoints past both thresholds, prune old attempts."""
    async with sessionmaker() as session:
        disabled = await disable_failing_endpoints(
            session,
            now=now,
            disable_after=settings.disable_after,
            min_failures=settings.disable_min_failures,
        )
        pruned = await prune_attempts(session, now=now, retention_days=settings.retention_days)
        events = await prune_events(session, now=now, retention_days=settings.event_retention_days)
        await forget_expired_secrets(session, now=now)
        await session.commit()
    if events:
        log.info("pruned %d events older than %d days", events, settings.event_retention_days)
    for reseller_id, webhook_id in disabled:
        log.warning("webhook %s disabled after failing continuously", webhook_id)
        on_disabled(reseller_id)
    return len(disabled), pruned


async def run_housekeeping(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    on_disabled: Callable[[str], None] = lambda _: None,
    interval: float = HOUSEKEEPING_INTERVAL_SECONDS,
) -> None:
    """Every `interval` seconds, for as long as the dispatcher runs (cancel to stop).

    Several processes may run it at once: disabling skips locked rows and pruning is
    idempotent, so the rounds never conflict.
    """
    while True:
        try:
            await housekeeping_once(sessionmaker, settings, now=clock(), on_disabled=on_disabled)
        except Exception:
            log.exception("housekeeping round failed; trying again next round")
        await asyncio.sleep(interval)
