"""Prometheus metrics: the one registry and every metric the service exports.

Counters and histograms are updated where things happen (ingest, dispatcher, live
feed); the backlog and disabled-webhook gauges are read from the database when /metrics
is scraped, so every process reports the same truth. Dispatcher metrics (attempts,
deliveries, latency, breakers) move only in processes that run a dispatcher: the API's
when its dispatcher is on, and `worker` processes, which serve /metrics themselves when
`HOOKLINE_WORKER_METRICS_PORT` is set (`metrics_server`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


async def refresh_gauges(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The gauges read from the database at scrape time (the same in every process)."""
    now = utc_now()
    query = select(func.count(), func.min(Delivery.next_attempt_at)).where(
        Delivery.status == PENDING, Delivery.next_attempt_at <= now
    )
    disabled = select(func.count()).where(Webhook.enabled.is_(False), Webhook.deleted_at.is_(None))
    async with sessionmaker() as session:
        count, oldest = (await session.execute(query)).one()
        WEBHOOKS_DISABLED.set((await session.execute(disabled)).scalar_one())
    BACKLOG.set(count)
    OLDEST_DUE_AGE.set((now - oldest).total_seconds() if oldest is not None else 0)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    await refresh_gauges(request.app.state.sessionmaker)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@asynccontextmanager
async def metrics_server(
    sessionmaker: async_sessionmaker[AsyncSession], host: str, port: int
) -> AsyncIterator[int]:
    """/metrics for a `worker` process (`HOOKLINE_WORKER_METRICS_PORT`): the same registry
    and scrape-time gauges as the API's, on a small aiohttp server; yields the bound port."""

    async def scrape(_: web.Request) -> web.Response:
        await refresh_gauges(sessionmaker)
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()
