"""Where the dispatcher runs: inside the API's lifespan, or alone as `python -m app worker`."""

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import ClientSession
from fastapi import FastAPI

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.dispatch.housekeeping import run_housekeeping
from app.dispatch.worker import Dispatcher
from app.egress.client import create_http_session
from app.kit.signals import Signals
from app.kit.tasks import cancel_and_wait
from app.kit.time import utc_now
from app.ops.logging import configure_logging
from app.ops.memory import unmap_large_allocations
from app.ops.metrics import metrics_server
from app.ops.tracing import Tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)


@asynccontextmanager
async def dispatcher_component(app: FastAPI) -> AsyncIterator[Dispatcher]:
    """Lifespan component: the dispatcher on the app's HTTP session (`http_component`),
    woken by ingest's signal.

    Tests may set `app.state.clock` before the lifespan starts to drive retries.
    """
    settings: Settings = app.state.settings
    signals: Signals = app.state.signals
    clock: Callable[[], datetime] = getattr(app.state, "clock", utc_now)
    http: ClientSession = app.state.http
    dispatcher = Dispatcher(
        settings, app.state.sessionmaker, http, clock=clock, tracing=app.state.tracing
    )
    signals.on_deliveries_due(dispatcher.wake)
    app.state.dispatcher = dispatcher
    await dispatcher.start()
    housekeeping = asyncio.create_task(
        run_housekeeping(
            app.state.sessionmaker, settings, clock=clock, on_disabled=signals.webhooks_changed
        ),
        name="housekeeping",
    )
    try:
        yield dispatcher
    finally:
        await cancel_and_wait(housekeeping)
        await dispatcher.stop()


async def serve_worker(
    settings: Settings, stop: asyncio.Event, *, span_exporter: "SpanExporter | None" = None
) -> None:
    """The dispatcher alone until `stop` is set; then a graceful stop. With
    `HOOKLINE_WORKER_METRICS_PORT`, /metrics too; with `HOOKLINE_OTEL_ENDPOINT`, traces
    (`span_exporter` replaces the OTLP exporter: tests)."""
    unmap_large_allocations()  # claimed bodies can be large too: see app.ops.memory
    engine = create_engine(settings)
    tracing = Tracing.open(settings, role="worker", exporter=span_exporter)
    try:
        async with create_http_session(settings) as http, AsyncExitStack() as stack:
            sessionmaker = create_sessionmaker(engine)
            if settings.worker_metrics_port is not None:
                host = settings.worker_metrics_host
                port = await stack.enter_async_context(
                    metrics_server(sessionmaker, host, settings.worker_metrics_port)
                )
                log.info("worker metrics on http://%s:%d/metrics", host, port)
            dispatcher = Dispatcher(settings, sessionmaker, http, tracing=tracing)
            await dispatcher.start()
            housekeeping = asyncio.create_task(
                run_housekeeping(sessionmaker, settings, clock=utc_now), name="housekeeping"
            )
            log.info("worker started")
            # As `serve` does: what start-up built leaves the cycle collector's generations,
            # so a full collection walks only what attempts made (and spans, when traced).
            gc.collect()
            gc.freeze()
            print("WORKER READY", flush=True)  # noqa: T201 - the supervisor's readiness line
            await stop.wait()
            log.info("worker stopping")
            await cancel_and_wait(housekeeping)
            await dispatcher.stop()
    finally:
        await engine.dispose()
        if tracing is not None:
            await tracing.close()


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve_worker(settings, stop)


def run_worker(settings: Settings) -> None:
    """`python -m app worker`: uvloop, graceful on SIGTERM/SIGINT."""
    configure_logging(settings)
    try:
        import uvloop

        uvloop.run(_main(settings))
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        asyncio.run(_main(settings))
