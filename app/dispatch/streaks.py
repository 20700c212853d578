"""Endpoint failure streaks: what auto-disable reads.

A success resets an endpoint's streak; each failure extends it and the first failure
after a success stamps when it began. A batch of results is applied in the order the
attempts finished, so a success in the middle of a batch resets what came before it
and only the failures after it count.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Webhook


@dataclass(slots=True)
class _Run:
    reset: bool = False  # a success came in this batch: the streak starts again
    failures: int = 0  # failures since the last success (or the batch's start)
    since: datetime | None = None  # the first of those failures


def streak_changes(
    results: Iterable[tuple[str, bool, datetime]],
) -> list[tuple[str, bool, int, datetime | None]]:
    """(webhook id, reset, failures since, first of them) per endpoint of a batch."""
    return [(w, run.reset, run.failures, run.since) for w, run in _runs(results).items()]


def _runs(results: Iterable[tuple[str, bool, datetime]]) -> dict[str, _Run]:
    runs: dict[str, _Run] = {}
    for webhook_id, succeeded, at in results:
        run = runs.setdefault(webhook_id, _Run())
        if succeeded:
            run.reset, run.failures, run.since = True, 0, None
        else:
            run.failures += 1
            run.since = run.since or at
    return runs


async def record_endpoint_outcomes(
    session: AsyncSession, results: Iterable[tuple[str, bool, datetime]]
) -> None:
    """Apply `(webhook id, succeeded, finished at)` results, in order, to the streaks."""
    runs = _runs(results)
    healthy = sorted(w for w, run in runs.items() if run.reset and not run.failures)
    if healthy:  # the common case, one statement; no write when already clean
        await session.execute(
            update(Webhook)
            .where(Webhook.id.in_(healthy), Webhook.consecutive_failures > 0)
            .values(consecutive_failures=0, failing_since=None)
        )
    for webhook_id, run in runs.items():
        if not run.failures:
            continue
        if run.reset:
            await session.execute(
                update(Webhook)
                .where(Webhook.id == webhook_id)
                .values(consecutive_failures=run.failures, failing_since=run.since)
            )
        else:
            await session.execute(
                update(Webhook)
                .where(Webhook.id == webhook_id)
                .values(
                    consecutive_failures=Webhook.consecutive_failures + run.failures,
                    failing_since=case(
                        (Webhook.failing_since.is_(None), run.since), else_=Webhook.failing_since
                    ),
                )
            )
