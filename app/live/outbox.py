"""The live feed's bounded outbox and its fan-out budget.

`Outbox.push` is what the post-commit signal calls: it never blocks and never grows
past `HOOKLINE_LIVE_BUFFER_SIZE`; when full it drops the *oldest* event (a live view
wants the newest) and counts it in `hookline_live_messages_dropped`.
"""

import asyncio
import time
from collections.abc import Sequence

from app.kit.signals import AcceptedEvent
from app.ops.metrics import LIVE_DROPPED


class Outbox:
    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[AcceptedEvent] = asyncio.Queue(size)

    def push(self, events: Sequence[AcceptedEvent]) -> None:
        for event in events:
            if self.queue.full():
                self.queue.get_nowait()
                LIVE_DROPPED.inc()
            self.queue.put_nowait(event)

    def full(self) -> bool:
        return self.queue.full()

    async def batch(self, most: int) -> list[AcceptedEvent]:
        """Wait for one event, then take whatever else is buffered, up to `most`."""
        events = [await self.queue.get()]
        while len(events) < most and not self.queue.empty():
            events.append(self.queue.get_nowait())
        return events


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
