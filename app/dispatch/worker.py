"""The dispatcher: claims ahead into memory, fills every free slot at once, records
results in batches, stops gracefully.

Three tasks share the work. The claim loop keeps a buffer of claimed jobs (twice each
endpoint's fair share, `dispatch.scheduler`) and tops it up whenever it runs low,
when ingest wakes it (the in-process signal, and PostgreSQL NOTIFY for other
processes), or every `poll_interval_seconds` (due retries). A finished attempt frees
its slot and the next job starts as it ends, from memory: the database is
never on the path between two attempts. The `ResultWriter` records outcomes in
batches off that path.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.dispatch.attempt import send
from app.dispatch.breaker import Breakers
from app.dispatch.claim import Claimer, Job
from app.dispatch.listen import Listener
from app.dispatch.pg_store import PgStore
from app.dispatch.results import Outcome, ResultWriter
from app.dispatch.scheduler import Scheduler
from app.egress.sender import AttemptKind
from app.kit.time import utc_now
from app.ops.tracing import Tracing

log = logging.getLogger(__name__)

START_MARGIN = timedelta(seconds=5)  # a queued job must start this long before its lease ends


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
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._http = http
        self._tracing = tracing  # None: off (`app.ops.tracing`)
        # The lease must outlive a wait in the buffer, an attempt (timeout) and the
        # write of its result.
        self._lease = timedelta(
            seconds=max(float(settings.lease_seconds), settings.delivery_timeout_seconds + 15)
        )
        self._sessionmaker = sessionmaker
        self._rng = rng or random.Random()
        self._pg: PgStore | None = None
        self._claimer = Claimer(sessionmaker, postgres=not settings.is_sqlite, lease=self._lease)
        self._breakers = Breakers(
            failures=settings.breaker_failures, cooldown_seconds=settings.breaker_cooldown_seconds
        )
        self._scheduler = Scheduler(settings.dispatcher_concurrency, self._breakers)
        self._writer = ResultWriter(sessionmaker, settings, rng=self._rng)
        self._wake = asyncio.Event()
        self._stopping = False
        self._more_waiting = False
        self._tasks: dict[asyncio.Task[None], Job] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._listener = (
            Listener(settings.database_url, self.wake) if not settings.is_sqlite else None
        )

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def wake(self) -> None:
        """Look for due deliveries now (safe to call from signal listeners, any time)."""
        self._wake.set()

    async def start(self) -> None:
        if not self.settings.is_sqlite:  # claims and results on raw asyncpg
            self._pg = await PgStore.open(self.settings.database_url)
            self._claimer = Claimer(
                self._sessionmaker, postgres=True, lease=self._lease, pg=self._pg
            )
            self._writer = ResultWriter(
                self._sessionmaker, self.settings, rng=self._rng, pg=self._pg
            )
        if self._listener is not None:
            await self._listener.start()
        self._writer.start()
        self._loop_task = asyncio.create_task(self._loop(), name="dispatch-loop")

    def _room(self) -> int:
        """Jobs the buffer may take: claimed ahead up to twice the slots."""
        held = self._scheduler.in_flight + self._scheduler.queued
        return 2 * self.settings.dispatcher_concurrency - held

    def _low(self) -> bool:
        return self._scheduler.queued < self.settings.dispatcher_concurrency // 2

    async def _loop(self) -> None:
        settings = self.settings
        while not self._stopping:
            self._wake.clear()
            wait = settings.poll_interval_seconds
            room = self._room()
            if room > 0:
                now = self.clock()
                tracing = self._tracing
                started = tracing.now() if tracing is not None else 0
                limit = min(room, settings.claim_batch_size)
                try:
                    await self._release_late(now)
                    default, budgets = self._scheduler.claim_budgets(now)
                    claimed = await self._claimer.claim(
                        now=now, limit=limit, default_budget=default, budgets=budgets
                    )
                except Exception:
                    log.exception("claiming due deliveries failed; retrying")
                    self._more_waiting = False
                    await asyncio.sleep(settings.poll_interval_seconds)
                    continue
                self._more_waiting = claimed.more
                if tracing is not None and claimed.jobs:
                    tracing.claimed(claimed.jobs, started_ns=started, limit=limit)
                self._scheduler.add(claimed.jobs)
                self._pump()
                if claimed.jobs and claimed.more and self._room() > 0 and self._low():
                    continue  # there is probably more: claim again at once
                if claimed.retry_in is not None:
                    wait = min(wait, max(claimed.retry_in, 0.005))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _release_late(self, now: datetime) -> None:
        late = self._scheduler.expiring(now, START_MARGIN + timedelta(seconds=self._timeout()))
        if late:
            log.warning("releasing %d claimed deliveries that could not start in time", len(late))
            await self._claimer.release(late, now, now)

    def _timeout(self) -> float:
        return self.settings.delivery_timeout_seconds

    def _pump(self) -> None:
        """Start as many queued jobs as the scheduler allows now."""
        if self._stopping:
            return
        now = self.clock()
        while (job := self._scheduler.take(now)) is not None:
            task = asyncio.create_task(self._attempt(job))
            self._tasks[task] = job
            task.add_done_callback(self._tasks.pop)

    async def _attempt(self, job: Job) -> None:
        try:
            outcome = await send(
                self._http, job, settings=self.settings, clock=self.clock, tracing=self._tracing
            )
        except Exception as exc:  # a defect, not the endpoint: still an outcome
            # The type only: an exception's text may quote the webhook URL (its tokens).
            log.error(
                "attempt of delivery %s failed unexpectedly: %s",
                job.delivery_id,
                type(exc).__name__,
            )
            now = self.clock()
            outcome = Outcome(
                job=job,
                kind=AttemptKind.NETWORK_ERROR,
                attempted_at=now,
                finished_at=now,
                latency_ms=0,
                error=f"error: {type(exc).__name__} inside the dispatcher",
            )
        self._scheduler.finished(outcome)
        self._writer.put(outcome)
        pause = self._breakers.record(
            job.webhook_id, succeeded=outcome.succeeded, now=outcome.finished_at
        )
        self._pump()  # the freed slot is refilled from memory, now
        if (
            self._more_waiting
            and not self._stopping
            and (self._low() or self._scheduler.queue_empty(job.webhook_id))
        ):
            self._wake.set()  # the buffer runs low and rows were left behind
        if pause is not None:
            await self._pause(job.webhook_id, pause, outcome)

    async def _pause(self, webhook_id: str, pause: float, outcome: Outcome) -> None:
        log.warning(
            "endpoint %s paused for %.0f s after %d failed attempts in a row (last: %s)",
            webhook_id,
            pause,
            self._breakers.streak(webhook_id),
            outcome.error,
        )
        now = outcome.finished_at
        until = now + timedelta(seconds=pause)
        try:
            # Its claimed-ahead jobs go back, due when the pause ends; so do the rest.
            await self._claimer.release(self._scheduler.drop(webhook_id), until, now)
            await self._claimer.defer_endpoint(webhook_id, until, now)
        except Exception:  # the in-memory pause still holds in this process
            log.exception("could not defer the deliveries of endpoint %s", webhook_id)

    async def stop(self) -> None:
        """Stop claiming, let attempts finish (up to the grace), record, release the rest."""
        self._stopping = True
        self._wake.set()
        if self._listener is not None:
            await self._listener.stop()
        if self._loop_task is not None:
            await self._loop_task
        unstarted = self._scheduler.drop_all()
        unfinished: list[Job] = []
        if self._tasks:
            _, pending = await asyncio.wait(
                list(self._tasks), timeout=self.settings.shutdown_grace_seconds
            )
            unfinished = [self._tasks[t] for t in pending if t in self._tasks]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._writer.close()  # records everything queued, then ends
        released = unstarted + unfinished
        if released:
            now = self.clock()
            with contextlib.suppress(Exception):
                await self._claimer.release(released, now, now)
            log.info("released %d unfinished deliveries", len(released))
        if self._pg is not None:
            await self._pg.close()
