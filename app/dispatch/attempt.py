"""One attempt: POST the stored body, signed in the webhook's scheme with this attempt's own
timestamp.

`send` never raises for anything the endpoint or the network does: every way an
attempt can end becomes an `Outcome` with its kind (only a 2xx is success). The network
part is `egress.sender.post_signed`, shared with simulations: the URL is re-checked
against the policy before every attempt and each connection's addresses by the
guarded resolver. With tracing on, the attempt is a span (`app.ops.tracing`) whose context
an opted-in webhook receives as `traceparent`.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from app.config import Settings
from app.dispatch.claim import Job
from app.dispatch.results import Outcome
from app.egress.client import USER_AGENT
from app.egress.sender import post_signed
from app.models.attempt import RESPONSE_EXCERPT_BYTES
from app.ops import metrics
from app.ops.tracing import Tracing
from app.wire.signature import signed_headers

Clock = Callable[[], datetime]


async def send(
    http: aiohttp.ClientSession,
    job: Job,
    *,
    settings: Settings,
    clock: Clock,
    tracing: Tracing | None = None,
) -> Outcome:
    attempted_at = clock()
    headers = signed_headers(
        job.signing,
        body=job.body,
        delivery_id=job.delivery_id,
        event_type=job.event_type,
        at=attempted_at,
        user_agent=USER_AGENT,
    )
    span = tracing.attempt(job) if tracing is not None else None
    if span is not None and job.send_traceparent:  # the webhook opted in
        headers["traceparent"] = span.traceparent
    try:
        result = await post_signed(
            http,
            url=job.url,
            body=job.body,
            headers=headers,
            timeout_seconds=settings.delivery_timeout_seconds,
            allow_private=settings.allow_private_targets,
            max_response_bytes=RESPONSE_EXCERPT_BYTES,
        )
    except BaseException as exc:
        if span is not None:
            span.fail(exc)
        raise
    if span is not None:
        span.finish(result)
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
        request_headers=dict(headers),
    )
