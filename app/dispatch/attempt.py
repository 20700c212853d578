"""One attempt: POST the stored body, signed with this attempt's own timestamp.

`send` never raises for anything the endpoint or the network does: every way an
attempt can end becomes an `Outcome` with its kind (only a 2xx is success). The network
part is `egress.sender.post_signed`, shared with simulations: the URL is re-checked
against the policy before every attempt and each connection's addresses by the
guarded resolver.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from app.config import Settings
from app.dispatch.claim import Job
from app.dispatch.results import Outcome
from app.egress.client import USER_AGENT
from app.egress.sender import post_signed
from app.kit.time import epoch_ms
from app.models.attempt import RESPONSE_EXCERPT_BYTES
from app.ops import metrics
from app.wire.signature import delivery_headers

Clock = Callable[[], datetime]


async def send(
    http: aiohttp.ClientSession, job: Job, *, settings: Settings, clock: Clock
) -> Outcome:
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
    metrics.ATTEMPTS.labels(result.kind.value).inc()
    metrics.ATTEMPT_LATENCY.observe(result.latency_ms / 1000)
    return Outcome(
        job=job,
        kind=result.kind,
        attempted_at=attempted_at,
        finished_at=attempted_at + timedelta(milliseconds=result.latency_ms),
        latency_ms=result.latency_ms,
        status_code=result.status,
        response_body=result.response_body,
        error=result.error,
        retry_after=result.retry_after,
    )
