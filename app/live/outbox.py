"""The live feed's bounded outbox and its fan-out budget.

`Outbox.push` is what the post-commit signal calls: it never blocks. The outbox is
bounded twice, by entries (`HOOKLINE_LIVE_BUFFER_SIZE`) and by bytes
(`HOOKLINE_LIVE_BUFFER_BYTES`), and it never keeps a large body: an event over the
payload limit is summarised (`app.live.feed.summary_payload`) in the outbox's own
worker thread, and once that is done the entry holds only the summary; until then it
costs its full body size. When a bound is reached, the *oldest* entry of the reseller
holding the most bytes is dropped (a live view wants the newest, and a tenant flooding
the feed loses its own events, not the others') and counted in
`hookline_live_messages_dropped`.

`batch` drains round robin between resellers, so a tenant with thousands of queued
events delays another tenant's next event by at most one of its own per round.
"""

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.kit.signals import AcceptedEvent
from app.live.feed import summary_payload
from app.ops.metrics import LIVE_DROPPED

# What an entry costs besides its body (the metadata strings, the objects around them).
ENTRY_OVERHEAD = 512


@dataclasses.dataclass(slots=True, eq=False)
class Buffered:
    """One buffered event. An event over the payload limit is summarised in the outbox's
    thread (`pending`); then `summary` holds the payload and the body is emptied."""

    event: AcceptedEvent
    cost: int
    pending: "asyncio.Future[tuple[Any, int]] | None" = None
    summary: Any = None
    buffered: bool = True

    async def payload(self) -> Any:
        """The summary of a large event (waiting for it if need be); None for a small one."""
        if self.pending is not None:
            return (await asyncio.shield(self.pending))[0]
        return self.summary


class Outbox:
    def __init__(self, size: int, max_bytes: int, payload_limit: int) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.payload_limit = payload_limit
        self._queues: dict[str, deque[Buffered]] = {}
        self._bytes: dict[str, int] = {}
        self._turns: deque[str] = deque()  # resellers with entries, in round-robin order
        self._count = 0
        self._total = 0
        self._ready = asyncio.Event()
        # One thread: summarising is CPU work, it must not take every core from ingest.
        self._summariser = ThreadPoolExecutor(1, thread_name_prefix="live-summary")

    @property
    def buffered_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return self._count

    def push(self, events: Sequence[AcceptedEvent]) -> None:
        for event in events:
            self._push_one(event)
        if self._count:
            self._ready.set()

    def _push_one(self, event: AcceptedEvent) -> None:
        cost = len(event.body) + ENTRY_OVERHEAD
        if cost > self.max_bytes:  # could never fit, not even alone
            LIVE_DROPPED.inc()
            return
        while self._count >= self.size or self._total + cost > self.max_bytes:
            self._drop_one()
        entry = Buffered(event, cost)
        if len(event.body) > self.payload_limit:
            loop = asyncio.get_running_loop()
            entry.pending = loop.run_in_executor(
                self._summariser, summary_payload, event.body, self.payload_limit
            )
            entry.pending.add_done_callback(lambda _: self._summarised(entry))
        reseller = event.reseller_id
        queue = self._queues.get(reseller)
        if queue is None:
            queue = self._queues[reseller] = deque()
            self._bytes[reseller] = 0
            self._turns.append(reseller)
        queue.append(entry)
        self._bytes[reseller] += cost
        self._count += 1
        self._total += cost

    def _summarised(self, entry: Buffered) -> None:
        """The summary replaces the body; the entry now costs only the summary."""
        done = entry.pending
        assert done is not None
        if done.cancelled() or done.exception() is not None:
            return  # the drain sees the failure when it awaits `payload()`
        entry.summary, size = done.result()
        entry.pending = None
        entry.event = dataclasses.replace(entry.event, body=b"")
        new_cost = ENTRY_OVERHEAD + size
        if entry.buffered:  # still in a queue: give the bytes back
            self._bytes[entry.event.reseller_id] += new_cost - entry.cost
            self._total += new_cost - entry.cost
        entry.cost = new_cost

    def _drop_one(self) -> None:
        heaviest = max(self._bytes, key=self._bytes.__getitem__)
        dropped = self._take(heaviest)
        if dropped.pending is not None:
            dropped.pending.cancel()  # not summarised yet: spare the thread the work
        LIVE_DROPPED.inc()

    def _take(self, reseller: str) -> Buffered:
        queue = self._queues[reseller]
        entry = queue.popleft()
        entry.buffered = False
        self._bytes[reseller] -= entry.cost
        self._count -= 1
        self._total -= entry.cost
        if not queue:
            del self._queues[reseller], self._bytes[reseller]
            self._turns.remove(reseller)
        return entry

    async def batch(self, most: int) -> list[Buffered]:
        """Wait for one entry, then take up to `most`, one reseller at a time in turn."""
        while not self._count:
            self._ready.clear()
            await self._ready.wait()
        taken: list[Buffered] = []
        while self._turns and len(taken) < most:
            reseller = self._turns[0]
            taken.append(self._take(reseller))
            if self._turns and self._turns[0] == reseller:
                self._turns.rotate(-1)
        return taken

    def close(self) -> None:
        self._summariser.shutdown(wait=False, cancel_futures=True)


class FanoutBudget:
    """A token bucket of socket messages per second: the feed's share of the CPU.

    Each emitted event costs one token per local recipient. When the bucket is empty
    the drain task waits, the buffer fills, and the oldest events are dropped; ingest
    never waits. A burst of a tenth of a second's budget passes at once.
    """

    def __init__(self, per_second: float) -> None:
        self.rate = per_second
        self.burst = max(per_second / 10, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    async def spend(self, messages: int) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= messages
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)
