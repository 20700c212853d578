"""One attempt (`send`) and the batched record of finished attempts (`record_outcomes`).

`send` never raises for anything the endpoint or the network does: every way an
attempt can end becomes an `Outcome` (status, latency, 4 KiB of the response, error),
and only a 2xx is success. The network part is `egress.sender.post_signed`, shared
with simulations: the URL is re-checked against the policy before every attempt and
each connection's addresses by the guarded resolver.

`record_outcomes` writes a whole batch of outcomes in one transaction: the attempt
rows, the delivery updates (guarded by the lease token, so a worker that lost its
lease cannot overwrite the new owner's result) and the endpoints' failure streaks.
"""

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import aiohttp
from sqlalchemy import Integer, String, Table, Text, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.base import UTCDateTime
from app.dispatch.claim import Job
from app.dispatch.housekeeping import record_endpoint_outcomes
from app.dispatch.retry import retry_delay
from app.egress.client import USER_AGENT
from app.egress.sender import PostResult, post_signed
from app.kit.ids import new_id
from app.kit.time import epoch_ms
from app.models import Delivery, DeliveryAttempt
from app.models.attempt import RESPONSE_EXCERPT_BYTES
from app.models.delivery import FAILED, PENDING, SUCCEEDED
from app.ops import metrics
from app.wire.signature import delivery_headers

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    attempted_at: datetime
    finished_at: datetime
    status_code: int | None
    latency_ms: int
    response_body: str | None
    error: str | None
    retry_after: str | None
    result: str  # success | http_error | timeout | network_error | blocked

    @property
    def succeeded(self) -> bool:
        return self.result == "success"


async def send(
    http: aiohttp.ClientSession, job: Job, *, settings: Settings, clock: Clock
) -> Outcome:
    """POST the stored body, signed with this attempt's own timestamp (fresh per attempt)."""
    attempted_at = clock()
    headers = delivery_headers(
        secret=job.secret,
        body=job.body,
        delivery_id=job.delivery_id,
        event_type=job.event_type,
        timestamp_ms=epoch_ms(attempted_at),
        user_agent=USER_AGENT,
    )
    result = await post_signed(
        http,
        url=job.url,
        body=job.body,
        headers=headers,
        timeout_seconds=settings.delivery_timeout_seconds,
        allow_private=settings.allow_private_targets,
        max_response_bytes=RESPONSE_EXCERPT_BYTES,
    )
    label = _label(result)
    metrics.ATTEMPTS.labels(label).inc()
    metrics.ATTEMPT_LATENCY.observe(result.latency_ms / 1000)
    return Outcome(
        job=job,
        attempted_at=attempted_at,
        finished_at=attempted_at + timedelta(milliseconds=result.latency_ms),
        status_code=result.status,
        latency_ms=result.latency_ms,
        response_body=result.response_body,
        error=result.error,
        retry_after=result.retry_after,
        result=label,
    )


def _label(result: PostResult) -> str:
    """The metric label of an attempt (success, http_error, timeout, network_error, blocked)."""
    if result.delivered:
        return "success"
    if result.status is not None:
        return "http_error"
    error = result.error or ""
    if error.startswith("blocked"):
        return "blocked"
    return "timeout" if error.startswith("timeout") else "network_error"


_TABLE = cast(Table, Delivery.__table__)
_UPDATE = (
    _TABLE.update()
    .where(
        _TABLE.c.id == bindparam("b_id", type_=String()),
        _TABLE.c.lease_token == bindparam("b_token", type_=String()),
    )
    .values(
        status=bindparam("b_status", type_=String()),
        attempt_count=bindparam("b_count", type_=Integer()),
        next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
        lease_token=None,
        last_status_code=bindparam("b_code", type_=Integer()),
        last_error=bindparam("b_error", type_=Text()),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        completed_at=bindparam("b_done", type_=UTCDateTime()),
    )
)


async def record_outcomes(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    *,
    settings: Settings,
    rng: random.Random,
) -> Counter[str]:
    """Write a batch of finished attempts; returns how many deliveries ended, by status."""
    attempts = []
    updates = []
    ended: Counter[str] = Counter()
    succeeded: list[str] = []
    failed: Counter[str] = Counter()
    for outcome in outcomes:
        job, now = outcome.job, outcome.finished_at
        attempts.append(
            {
                "id": new_id("att"),
                "delivery_id": job.delivery_id,
                "attempt_number": job.attempt_number,
                "attempted_at": outcome.attempted_at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "response_body": outcome.response_body,
                "error": outcome.error,
            }
        )
        status, next_at = SUCCEEDED, None
        done: datetime | None = now
        if outcome.succeeded:
            succeeded.append(job.webhook_id)
        else:
            failed[job.webhook_id] += 1
            delay = retry_delay(
                job.attempt_number,
                status_code=outcome.status_code,
                retry_after=outcome.retry_after,
                schedule=settings.retry_schedule,
                jitter=settings.retry_jitter,
                retry_after_max=settings.retry_after_max_seconds,
                now=now,
                rng=rng,
            )
            if delay is None:
                status = FAILED
            else:
                status, next_at, done = PENDING, now + timedelta(seconds=delay), None
        if done is not None:
            ended[status] += 1
        updates.append(
            {
                "b_id": job.delivery_id,
                "b_token": job.lease_token,
                "b_status": status,
                "b_count": job.attempt_number,
                "b_next": next_at,
                "b_code": outcome.status_code,
                "b_error": outcome.error,
                "b_now": now,
                "b_done": done,
            }
        )
    await session.execute(insert(DeliveryAttempt), attempts)
    await session.execute(_UPDATE, updates)
    now = max(o.finished_at for o in outcomes)
    await record_endpoint_outcomes(session, succeeded=succeeded, failed=dict(failed), now=now)
    return ended
