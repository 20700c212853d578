"""A real `worker` process whose spans a test can read: `python -m tests.support.traced_worker
OUT.json` runs what `python -m app worker` runs (`serve_worker`, settings from the
environment) with the SDK's in-memory exporter in place of OTLP, and on SIGTERM, after the
graceful stop has flushed every span, writes them to OUT.json (`tests.support.spans`).

HOOKLINE_OTEL_ENDPOINT still decides whether there is tracing at all, as in production."""

import asyncio
import signal
import sys
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.config import Settings
from app.dispatch.runner import serve_worker
from app.ops.logging import configure_logging
from tests.support.spans import dump


async def _main(settings: Settings, exporter: InMemorySpanExporter) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve_worker(settings, stop, span_exporter=exporter)


def main() -> None:
    out = Path(sys.argv[1])
    settings = Settings()
    configure_logging(settings)
    exporter = InMemorySpanExporter()
    asyncio.run(_main(settings, exporter))
    dump(exporter.get_finished_spans(), out)


if __name__ == "__main__":
    main()
