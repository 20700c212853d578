"""`python -m app worker` with pyreqwest as the outbound client, for the benchmarks only.

The real `Dispatcher` (claims, scheduling, `attempt.send`, `post_signed`, batched
results) with a `bench.reqwest_sender.ReqwestSession` where the aiohttp session goes,
built from the same environment settings; the rest is `app.dispatch.runner.serve_worker`
line for line (housekeeping, the readiness line, a graceful stop on SIGTERM).

Run: python -m bench.reqwest_worker   (prints `WORKER READY` once dispatching)
"""

from __future__ import annotations

import asyncio
import signal

import uvloop

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.dispatch.housekeeping import run_housekeeping
from app.dispatch.worker import Dispatcher
from app.kit.time import utc_now
from app.ops.logging import configure_logging
from bench.reqwest_sender import as_client_session, create_reqwest_session


async def serve_worker(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings)
    try:
        async with create_reqwest_session(settings) as http:
            sessionmaker = create_sessionmaker(engine)
            dispatcher = Dispatcher(settings, sessionmaker, as_client_session(http))
            await dispatcher.start()
            housekeeping = asyncio.create_task(
                run_housekeeping(sessionmaker, settings, clock=utc_now), name="housekeeping"
            )
            print("WORKER READY", flush=True)
            await stop.wait()
            housekeeping.cancel()
            await dispatcher.stop()
    finally:
        await engine.dispose()


async def _main() -> None:
    settings = Settings()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve_worker(settings, stop)


if __name__ == "__main__":
    uvloop.run(_main())
