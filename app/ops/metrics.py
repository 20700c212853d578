"""Prometheus metrics: the one registry and every metric the service exports.

Counters and histograms are updated where things happen (ingest, dispatcher, live
feed); the backlog and disabled-webhook gauges are read from the database when /metrics
is scraped, so every process reports the same truth. Dispatcher metrics (attempts,
deliveries, latency, breakers) move only in processes that run a dispatcher.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from app.kit.time import utc_now
from app.models import Delivery, Webhook
from app.models.delivery import PENDING

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_ACCEPTED = Counter(
    "hookline_events_accepted", "Events accepted by ingest", ["event_type"], registry=REGISTRY
)
DELIVERIES_COMPLETED = Counter(
    "hookline_deliveries",
    "Deliveries finished, by outcome (succeeded, failed, cancelled)",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "hookline_delivery_attempts",
    "Delivery attempts, by result (success, http_error, timeout, network_error, refused)",
    ["result"],
    registry=REGISTRY,
)
ATTEMPT_LATENCY = Histogram(
    "hookline_attempt_latency_seconds",
    "Latency of delivery attempts (request sent to response read)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "hookline_due_deliveries", "Pending deliveries whose attempt is due now", registry=REGISTRY
)
OLDEST_DUE_AGE = Gauge(
    "hookline_oldest_due_delivery_age_seconds",
    "How long the oldest due delivery has been waiting",
    registry=REGISTRY,
)
CONNECTED_SOCKETS = Gauge(
    "hookline_live_connected_sockets",
    "Socket.IO connections to the live feed in this process",
    registry=REGISTRY,
)
BREAKERS_OPEN = Gauge(
    "hookline_breakers_open",
    "Endpoints whose circuit breaker is open (paused or probing) in this process's dispatcher",
    registry=REGISTRY,
)
WEBHOOKS_DISABLED = Gauge(
    "hookline_webhooks_disabled",
    "Webhooks disabled (automatically or by their owner) and not deleted",
    registry=REGISTRY,
)
LIVE_DROPPED = Counter(
    "hookline_live_messages_dropped",
    "Live-feed messages dropped because a buffer was full",
    registry=REGISTRY,
)

router = APIRouter(tags=["ops"])


async def _refresh_backlog(request: Request) -> None:
    now = utc_now()
    query = select(func.count(), func.min(Delivery.next_attempt_at)).where(
        Delivery.status == PENDING, Delivery.next_attempt_at <= now
    )
    disabled = select(func.count()).where(Webhook.enabled.is_(False), Webhook.deleted_at.is_(None))
    async with request.app.state.sessionmaker() as session:
        count, oldest = (await session.execute(query)).one()
        WEBHOOKS_DISABLED.set((await session.execute(disabled)).scalar_one())
    BACKLOG.set(count)
    OLDEST_DUE_AGE.set((now - oldest).total_seconds() if oldest is not None else 0)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    await _refresh_backlog(request)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
