"""The dispatcher loop: wake-ups, bounded concurrency, batched result writes, graceful stop.

The hot path has no fixed delay: a committed ingest wakes the loop at once (the
in-process signal, and PostgreSQL NOTIFY for other processes); polling every
`poll_interval_seconds` is only the fallback that also picks up retries as they come
due. Each claim takes at most the free global slots and each endpoint's free slots,
every claimed job starts at once, and finished attempts are queued to one writer that
records whatever has accumulated in one transaction (natural batching: the busier it
is, the bigger the batches, with no timer on the way).
"""

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.dispatch.attempt import Outcome, record_outcomes, send
from app.dispatch.breaker import Breakers
from app.dispatch.claim import Claimer, Job
from app.dispatch.listen import Listener
from app.kit.time import utc_now
from app.ops import metrics

log = logging.getLogger(__name__)

WRITE_BATCH = 500
WRITE_WINDOW = 0.02  # seconds a result may wait for others to share its transaction


class Dispatcher:
    """Start with `await start()`, stop with `await stop()`; `wake()` claims due rows now."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._sessionmaker = sessionmaker
        self._http = http
        self._rng = rng or random.Random()
        # The lease must outlive an attempt (timeout) plus the write of its result.
        lease = max(float(settings.lease_seconds), settings.delivery_timeout_seconds + 5)
        self._claimer = Claimer(
            sessionmaker, postgres=not settings.is_sqlite, lease=timedelta(seconds=lease)
        )
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, int] = defaultdict(int)
        self._breakers = Breakers(
            failures=settings.breaker_failures, cooldown_seconds=settings.breaker_cooldown_seconds
        )
        self._jobs: dict[asyncio.Task[None], Job] = {}
        self._results: asyncio.Queue[Outcome | None] = asyncio.Queue()  # None: stop
        self._more_waiting = False
        self._loop_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._listener = (
            Listener(settings.database_url, self.wake) if not settings.is_sqlite else None
        )

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    def wake(self) -> None:
        """Look for due deliveries now (safe to call from signal listeners, any time)."""
        self._wake.set()

    async def start(self) -> None:
        if self._listener is not None:
            await self._listener.start()
        self._writer_task = asyncio.create_task(self._writer(), name="dispatch-writer")
        self._loop_task = asyncio.create_task(self._loop(), name="dispatch-loop")

    async def _loop(self) -> None:
        settings = self.settings
        while not self._stopping:
            self._wake.clear()
            free = settings.dispatcher_concurrency - len(self._jobs)
            if free > 0:
                now = self.clock()
                try:
                    jobs, self._more_waiting = await self._claimer.claim(
                        now=now,
                        limit=min(free, settings.claim_batch_size),
                        endpoint_budget=settings.endpoint_concurrency,
                        in_flight=self._in_flight,
                        limits=self._breakers.limits(now),
                    )
                except Exception:
                    log.exception("claiming due deliveries failed; retrying")
                    jobs, self._more_waiting = [], False
                    await asyncio.sleep(settings.poll_interval_seconds)
                for job in jobs:
                    self._start(job)
                if jobs and self._more_waiting:
                    continue  # a full batch: there is probably more, claim again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.poll_interval_seconds)

    def _start(self, job: Job) -> None:
        self._in_flight[job.webhook_id] += 1
        task = asyncio.create_task(self._attempt(job))
        self._jobs[task] = job
        task.add_done_callback(self._finished)

    async def _attempt(self, job: Job) -> None:
        outcome = await send(self._http, job, settings=self.settings, clock=self.clock)
        pause = self._breakers.record(
            job.webhook_id, succeeded=outcome.succeeded, now=outcome.finished_at
        )
        if pause is not None:
            log.warning(
                "endpoint %s paused for %.0f s after %d failed attempts in a row (last: %s)",
                job.webhook_id,
                pause,
                self._breakers.streak(job.webhook_id),
                outcome.error,
            )
            until = outcome.finished_at + timedelta(seconds=pause)
            try:
                await self._claimer.defer_endpoint(job.webhook_id, until, outcome.finished_at)
            except Exception:  # the in-memory pause still holds in this process
                log.exception("could not defer the deliveries of endpoint %s", job.webhook_id)
        self._results.put_nowait(outcome)

    def _finished(self, task: asyncio.Task[None]) -> None:
        job = self._jobs.pop(task)
        left = self._in_flight[job.webhook_id] - 1
        if left:
            self._in_flight[job.webhook_id] = left
        else:
            del self._in_flight[job.webhook_id]
        if self._more_waiting and not self._stopping and self._refill_now(left):
            self._wake.set()  # slots are free and rows were left behind

    def _refill_now(self, endpoint_left: int) -> bool:
        """Claim again once half an endpoint's (or the global) slots are free: one claim
        per completion would cost a transaction per delivery."""
        return (
            endpoint_left <= self.settings.endpoint_concurrency // 2
            or len(self._jobs) <= self.settings.dispatcher_concurrency // 2
        )

    async def _writer(self) -> None:
        """Record results in batches: whatever is queued, topped up for at most
        WRITE_WINDOW seconds. Result writes are off the delivery path, so waiting a few
        milliseconds costs no latency and saves a transaction per handful of results."""
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            batch: list[Outcome] = []
            item = await self._results.get()
            deadline = loop.time() + WRITE_WINDOW
            while item is not None:
                batch.append(item)
                if len(batch) >= WRITE_BATCH:
                    break
                if self._results.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._results.get(), remaining)
                    except TimeoutError:
                        break
                else:
                    item = self._results.get_nowait()
            done = item is None
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[Outcome]) -> None:
        """Record a batch, retrying while the database is away (leases cover the wait)."""
        for delay in (0.1, 0.5, 1, 2, 5, 5, 5, 10, 10, 10):
            try:
                async with self._sessionmaker() as session:
                    ended = await record_outcomes(
                        session, batch, settings=self.settings, rng=self._rng
                    )
                    await session.commit()
            except Exception:
                log.exception("recording %d attempt results failed; retrying", len(batch))
                await asyncio.sleep(delay)
                continue
            for status, count in ended.items():
                metrics.DELIVERIES_COMPLETED.labels(status).inc(count)
            return
        log.error("gave up recording %d results; their leases will expire", len(batch))

    async def stop(self) -> None:
        """Stop claiming, let attempts finish (up to the grace), record, release the rest."""
        self._stopping = True
        self._wake.set()
        if self._listener is not None:
            await self._listener.stop()
        if self._loop_task is not None:
            await self._loop_task
        unfinished: list[Job] = []
        if self._jobs:
            _, pending = await asyncio.wait(
                list(self._jobs), timeout=self.settings.shutdown_grace_seconds
            )
            unfinished = [self._jobs[t] for t in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._results.put_nowait(None)  # the writer records everything queued, then ends
        if self._writer_task is not None:
            await self._writer_task
        if unfinished:
            with contextlib.suppress(Exception):
                await self._claimer.release(unfinished, self.clock())
            log.info("released %d unfinished deliveries", len(unfinished))
