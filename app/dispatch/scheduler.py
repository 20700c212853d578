"""Which claimed delivery starts next: work-conserving, fair between endpoints.

The dispatcher keeps the jobs it has claimed in a queue per endpoint and fills every
free slot at once from them (never waiting on the database). Three bounds decide
whether an endpoint may start another attempt:

- its adaptive limit (`adaptive.AdaptiveLimit`): a slower or failing endpoint narrows
  itself; its breaker (`breaker.Breakers`) pauses it or lets one probe through;
- its fair share of the process's slots, recomputed at every claim by max-min
  water-filling over what each endpoint can use now (in flight + queued, with room to
  grow): an endpoint alone gets every slot, endpoints with little traffic get all
  they need, and the heavy ones split the rest evenly;
- a reserve: an endpoint above an equal share may not take the last eighth of the free
  slots, so an endpoint that just got traffic never waits behind others' slow
  attempts.

Endpoints take turns (round robin, one attempt per turn; every attempt costs the
same, so this is deficit round robin with a unit quantum). What to claim next is the
same rule read the other way: each endpoint may have up to twice its share claimed
(in flight plus queued), so a freed slot is refilled from memory while the next claim
is on its way, and no endpoint holds leases it cannot use soon.
"""

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.dispatch.adaptive import INITIAL, AdaptiveLimit
from app.dispatch.breaker import Breakers
from app.dispatch.claim import Job
from app.dispatch.results import Outcome

CLAIM_AHEAD = 2  # claimed per endpoint, in multiples of its share
IDLE_FORGET_SECONDS = 600.0  # an endpoint's learnt limit is kept this long after its last attempt


def water_fill(demands: Mapping[str, int], capacity: int) -> dict[str, int]:
    """Max-min fair shares of `capacity` slots: nobody gets more than it asks, and what
    the small ones leave is split evenly among the rest (each share at least 1)."""
    shares: dict[str, int] = {}
    left, pending = capacity, sorted(demands.items(), key=lambda item: item[1])
    while pending:
        level = max(1, left // len(pending))
        webhook_id, demand = pending[0]
        if demand <= level:
            shares[webhook_id] = max(demand, 1)
            left -= demand
            pending.pop(0)
            continue
        for webhook_id, _ in pending:
            shares[webhook_id] = level
        break
    return shares


@dataclass(slots=True)
class _Endpoint:
    limit: AdaptiveLimit
    queue: deque[Job] = field(default_factory=deque)
    in_flight: int = 0
    share: int = int(INITIAL)
    in_ring: bool = False
    last_active: float = 0.0


class Scheduler:
    def __init__(
        self,
        capacity: int,
        breakers: Breakers,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self._breakers = breakers
        self._monotonic = monotonic
        self._endpoints: dict[str, _Endpoint] = {}
        self._ring: deque[str] = deque()
        self._active: set[str] = set()  # endpoints with a job queued or in flight
        self.in_flight = 0
        self.queued = 0

    def _endpoint(self, webhook_id: str) -> _Endpoint:
        endpoint = self._endpoints.get(webhook_id)
        if endpoint is None:
            endpoint = _Endpoint(limit=AdaptiveLimit(self.capacity))
            self._endpoints[webhook_id] = endpoint
        return endpoint

    def add(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            endpoint = self._endpoint(job.webhook_id)
            endpoint.queue.append(job)
            self.queued += 1
            self._active.add(job.webhook_id)
            if not endpoint.in_ring:
                endpoint.in_ring = True
                self._ring.append(job.webhook_id)

    def take(self, now: datetime) -> Job | None:
        """The next job to start, or None when no endpoint may start one now."""
        free = self.capacity - self.in_flight
        if free <= 0 or not self._ring:
            return None
        active = max(len(self._active), 1)
        equal = self.capacity // active
        reserve = self.capacity // 8 if active > 1 else 0
        for _ in range(len(self._ring)):
            webhook_id = self._ring.popleft()
            endpoint = self._endpoints[webhook_id]
            if not endpoint.queue:
                endpoint.in_ring = False
                continue
            if endpoint.in_flight >= self._cap(webhook_id, endpoint, now):
                endpoint.in_ring = False  # back in turn when one of its attempts ends
                continue
            if endpoint.in_flight >= equal and free <= reserve:
                self._ring.append(webhook_id)  # the reserve is for the others
                continue
            job = endpoint.queue.popleft()
            self.queued -= 1
            endpoint.in_flight += 1
            self.in_flight += 1
            if endpoint.queue:
                self._ring.append(webhook_id)
            else:
                endpoint.in_ring = False
            return job
        return None

    def _cap(self, webhook_id: str, endpoint: _Endpoint, now: datetime) -> int:
        cap = min(endpoint.limit.value, endpoint.share)
        breaker = self._breakers.limit(webhook_id, now)
        return cap if breaker is None else min(cap, breaker)

    def finished(self, outcome: Outcome) -> None:
        """An attempt ended: free its slot and let the endpoint's limit learn from it."""
        webhook_id = outcome.job.webhook_id
        endpoint = self._endpoints[webhook_id]
        endpoint.in_flight -= 1
        self.in_flight -= 1
        now = self._monotonic()
        endpoint.last_active = now
        endpoint.limit.record(
            kind=outcome.kind,
            status=outcome.status_code,
            latency=outcome.latency_ms / 1000,
            now=now,
        )
        if endpoint.queue:
            if not endpoint.in_ring:
                endpoint.in_ring = True
                self._ring.append(webhook_id)
        elif not endpoint.in_flight:
            self._active.discard(webhook_id)

    def queue_empty(self, webhook_id: str) -> bool:
        endpoint = self._endpoints.get(webhook_id)
        return endpoint is None or not endpoint.queue

    def drop(self, webhook_id: str) -> list[Job]:
        """Take back an endpoint's queued jobs (it was paused): the caller releases them."""
        endpoint = self._endpoints.get(webhook_id)
        if endpoint is None or not endpoint.queue:
            return []
        jobs = list(endpoint.queue)
        endpoint.queue.clear()
        self.queued -= len(jobs)
        if not endpoint.in_flight:
            self._active.discard(webhook_id)
        return jobs

    def drop_all(self) -> list[Job]:
        return [job for webhook_id in list(self._endpoints) for job in self.drop(webhook_id)]

    def expiring(self, now: datetime, margin: timedelta) -> list[Job]:
        """Queued jobs whose lease ends within `margin`: too late to start safely."""
        late: list[Job] = []
        for endpoint in self._endpoints.values():
            while endpoint.queue and endpoint.queue[0].leased_until - now < margin:
                late.append(endpoint.queue.popleft())
                self.queued -= 1
        return late

    def claim_budgets(self, now: datetime) -> tuple[int, dict[str, int]]:
        """Refresh the fair shares; returns (rows a new endpoint may be claimed, rows
        each known endpoint may be claimed now)."""
        demands: dict[str, int] = {}
        for webhook_id in self._active:
            endpoint = self._endpoints[webhook_id]
            using = endpoint.in_flight + len(endpoint.queue)
            # Room to grow: an endpoint using all it has may want twice as much.
            demands[webhook_id] = min(endpoint.limit.value, max(2 * using, int(INITIAL)))
        for webhook_id, share in water_fill(demands, self.capacity).items():
            self._endpoints[webhook_id].share = share
        budgets: dict[str, int] = {}
        forget: list[str] = []
        idle_since = self._monotonic() - IDLE_FORGET_SECONDS
        for webhook_id, endpoint in self._endpoints.items():
            if webhook_id not in self._active:
                endpoint.share = min(endpoint.limit.value, self.capacity)
                if endpoint.last_active < idle_since:
                    forget.append(webhook_id)
            cap = self._cap(webhook_id, endpoint, now)
            held = endpoint.in_flight + len(endpoint.queue)
            budgets[webhook_id] = max(0, CLAIM_AHEAD * cap - held) if cap else 0
        for webhook_id in forget:
            if not self._endpoints[webhook_id].in_ring:
                del self._endpoints[webhook_id]
                budgets.pop(webhook_id, None)
        for webhook_id, limit in self._breakers.limits(now).items():
            budgets.setdefault(webhook_id, limit)
        return math.ceil(CLAIM_AHEAD * INITIAL), budgets
