"""`create_app(settings)`: the ASGI app. Its lifespan owns the engine, the outbound HTTP
session, the dispatcher and the live feed, so tests build their own app from their own
`Settings` and production has exactly one place where things start and stop.
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import socketio
import swagger_ui
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import api_router
from app.auth.revocation import revocation_component
from app.auth.usage import KeyUsage, key_usage_component
from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.deliveries.bulk_routes import bulk_slots
from app.dispatch.runner import dispatcher_component
from app.egress.client import http_component
from app.errors import UnexpectedErrorMiddleware, install_error_handlers
from app.events.group_commit import ingest_component
from app.events.routes import IngestFastPath
from app.kit.signals import Signals
from app.live.server import live_component, live_feed
from app.ops.body_limit import BodyLimitMiddleware
from app.ops.health import router as health_router
from app.ops.logging import configure_logging
from app.ops.memory import unmap_large_allocations
from app.ops.metrics import router as metrics_router
from app.ops.request_id import RequestIdMiddleware
from app.ops.tracing import tracing_component
from app.webhooks.simulate import simulation_slots

# The routes that take `HOOKLINE_MAX_EVENT_BYTES` rather than `HOOKLINE_MAX_BODY_BYTES`.
INGEST_PATHS = frozenset({"/v1/events", "/v1/events/batch"})
# The dashboard's build output (frontend/ builds into it): package data, so a wheel serves it too.
DASHBOARD = Path(__file__).resolve().parent / "static"
SWAGGER_STATIC = Path(swagger_ui.__file__).parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Here rather than in create_app: uvicorn configures its loggers after the app is built.
    configure_logging(settings)
    unmap_large_allocations()  # ingest's large bodies: see app.ops.memory
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        for component in app.state.components:
            await stack.enter_async_context(component(app))
        yield


def _components(settings: Settings) -> list[Any]:
    """Async context managers `(app) -> ...` the lifespan enters in order and leaves in reverse.

    Tracing first (its spans are exported last), then the keys' last-use flusher (so it
    flushes after ingest has drained) and the key revocation listener, then
    the outbound HTTP session (the dispatcher and simulations send through it),
    then the live feed's signal listeners, then the dispatcher's loop (only when
    `HOOKLINE_DISPATCHER=on`), then ingest's group committer.
    """
    components: list[Any] = [tracing_component, key_usage_component, revocation_component]
    components.append(http_component)
    components.append(live_component)
    if settings.dispatcher == "on":
        components.append(dispatcher_component)
    # Last in, first out: queued ingest is committed before the dispatcher stops.
    components.append(ingest_component)
    return components


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API with everything the lifespan starts (see `_components`)."""
    settings = settings or Settings()
    app = FastAPI(
        title="Hookline",
        version=__version__,
        description="Signed webhook fan-out and live event feed for reseller networks.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.signals = Signals()
    app.state.tracing = None  # set by `tracing_component` when HOOKLINE_OTEL_ENDPOINT is
    app.state.key_usage = KeyUsage()
    app.state.components = _components(settings)
    app.state.simulation_slots = simulation_slots(settings.simulation_concurrency)
    app.state.bulk_slots = bulk_slots(settings.bulk_operations_per_tenant)
    install_error_handlers(app)
    # Outermost last: request id, then the JSON 500 for anything below, then the body limit,
    # then ingest's fast path (past the router, behind everything above).
    app.add_middleware(IngestFastPath)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        ingest_limit=settings.max_event_bytes,
        ingest_paths=INGEST_PATHS,
    )
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(api_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    _mount_docs(app)
    _mount_dashboard(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """The explorer with its assets served from the package: works with no internet."""
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_STATIC), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Hookline API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )


def _mount_dashboard(app: FastAPI) -> None:
    """The built SPA at `/` (it routes with the URL hash, so no server-side fallback)."""
    assets = DASHBOARD / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="dashboard-assets")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> Response:
        index = DASHBOARD / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            "<!doctype html><title>Hookline</title><h1>Hookline</h1>"
            "<p>The dashboard is not built: run <code>make frontend</code>. "
            'The API explorer is at <a href="/docs">/docs</a>.</p>'
        )


def create_asgi(settings: Settings) -> Any:
    """The production ASGI app: the API plus the dispatcher and the live feed."""
    app = create_app(settings)
    # Socket.IO answers /socket.io/; everything else (lifespan included) goes to FastAPI.
    asgi = socketio.ASGIApp(live_feed(app).sio, other_asgi_app=app, socketio_path="socket.io")
    # Socket.IO's requests never reach FastAPI's middleware: the same body limit in front.
    return BodyLimitMiddleware(
        asgi,
        limit=settings.max_body_bytes,
        ingest_limit=settings.max_event_bytes,
        ingest_paths=INGEST_PATHS,
    )
