"""Adaptive concurrency per endpoint: how many attempts an endpoint may have in flight.

AIMD, as TCP does it. A new endpoint starts at `INITIAL` and grows by one slot per
success (doubling each round trip) until its first sign of trouble; after that by one
slot per round trip. Trouble halves the limit (at most once per round trip, so a burst
of failures of attempts that were in flight together counts once): a timeout, a
network error, a 5xx or a 429 — the receiver is failing or asking us to slow down. An
endpoint that becomes slower than it was (its recent latency over `SLOWER` times its
usual, and over `SLOW_FLOOR_SECONDS`) loses a tenth. Other answers (2xx, 4xx) are the
receiver doing its job at speed. The floor is one slot: an endpoint is never starved,
only narrowed; its breaker is what pauses it.
"""

from app.egress.sender import AttemptKind

INITIAL = 8.0
FLOOR = 1.0
SLOWER = 2.0
SLOW_FLOOR_SECONDS = 0.25  # loopback jitter and our own CPU load stay below this
_EWMA = 0.2  # weight of the newest latency in the recent average
_BASELINE_RISE = 0.01  # the usual latency drifts up slowly so a new normal is learnt

TROUBLE = frozenset({AttemptKind.TIMEOUT, AttemptKind.NETWORK_ERROR})


def is_trouble(kind: AttemptKind, status: int | None) -> bool:
    """Outcomes that mean "send less": the receiver failing or asking for less."""
    if kind in TROUBLE:
        return True
    return (
        kind is AttemptKind.HTTP_ERROR and status is not None and (status >= 500 or status == 429)
    )


class AdaptiveLimit:
    """One endpoint's limit; `value` is what the scheduler reads (at least 1)."""

    __slots__ = ("_baseline", "_ceiling", "_last_cut", "_limit", "_recent", "_slow_start")

    def __init__(self, ceiling: int) -> None:
        self._ceiling = float(max(ceiling, 1))
        self._limit = min(INITIAL, self._ceiling)
        self._slow_start = True
        self._recent: float | None = None  # seconds, EWMA
        self._baseline: float | None = None  # seconds, slowly rising minimum
        self._last_cut = float("-inf")  # monotonic seconds of the last decrease

    @property
    def value(self) -> int:
        return int(self._limit)

    def record(self, *, kind: AttemptKind, status: int | None, latency: float, now: float) -> None:
        """Adjust after one attempt; `now` is a monotonic clock in seconds."""
        recent = (
            latency if self._recent is None else self._recent + _EWMA * (latency - self._recent)
        )
        self._recent = recent
        if self._baseline is None or latency < self._baseline:
            self._baseline = latency
        else:
            self._baseline += _BASELINE_RISE * (latency - self._baseline)
        if is_trouble(kind, status):
            self._cut(0.5, now)
        elif recent > SLOW_FLOOR_SECONDS and recent > SLOWER * self._baseline:
            self._cut(0.9, now)
        elif self._slow_start:
            self._limit = min(self._limit + 1.0, self._ceiling)
        else:
            self._limit = min(self._limit + 1.0 / self._limit, self._ceiling)

    def _cut(self, factor: float, now: float) -> None:
        # Attempts in flight together report together: one cut per round trip.
        if now - self._last_cut < max(self._recent or 0.0, 0.01):
            return
        self._last_cut = now
        self._slow_start = False
        self._limit = max(FLOOR, self._limit * factor)
