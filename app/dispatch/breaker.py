"""Per-endpoint circuit breakers: a failing endpoint is paused, then probed one at a time.

Without them an endpoint that answers 500 at once, with thousands of deliveries
queued, is hammered as fast as the dispatcher can go: the receiver gets no rest and
every other endpoint shares a dispatcher busy with hopeless attempts. After
`breaker_failures` consecutive failed attempts the endpoint's due deliveries are left
in the database for `breaker_cooldown_seconds`; then one attempt at a time probes it.
A success closes the breaker; a failed probe pauses again, twice as long each time,
up to `MAX_PAUSE_SECONDS`.

Nothing is lost: when a pause starts, the dispatcher moves the endpoint's pending
deliveries that would come due sooner to the end of the pause (`Claimer.defer_endpoint`),
attempt counts untouched, so the retry schedule is never shortened (only ever delayed),
other workers wait too, and claims do not scan past a paused backlog. The streak and
the probing are per process; each worker learns an endpoint's health from its own
attempts.
"""

from datetime import datetime, timedelta

from app.ops.metrics import BREAKERS_OPEN

MAX_PAUSE_SECONDS = 60.0


class Breakers:
    def __init__(self, *, failures: int, cooldown_seconds: float) -> None:
        self._threshold = failures  # 0: breakers off
        self._cooldown = cooldown_seconds
        self._streak: dict[str, int] = {}
        self._pause: dict[str, float] = {}
        self._open_until: dict[str, datetime] = {}

    def record(self, webhook_id: str, *, succeeded: bool, now: datetime) -> float | None:
        """Count an attempt's outcome; returns the pause in seconds when this one starts it."""
        if succeeded:
            self._streak.pop(webhook_id, None)
            self._pause.pop(webhook_id, None)
            if self._open_until.pop(webhook_id, None) is not None:
                BREAKERS_OPEN.dec()
            return None
        if not self._threshold:
            return None
        until = self._open_until.get(webhook_id)
        if until is not None and now < until:
            return None  # attempts started before the pause: already counted against it
        streak = self._streak.get(webhook_id, 0) + 1
        self._streak[webhook_id] = streak
        if streak < self._threshold:
            return None
        previous = self._pause.get(webhook_id)
        pause = self._cooldown if previous is None else min(previous * 2, MAX_PAUSE_SECONDS)
        pause = max(pause, self._cooldown)
        self._pause[webhook_id] = pause
        if webhook_id not in self._open_until:
            BREAKERS_OPEN.inc()  # a process-wide sum over every dispatcher's breakers
        self._open_until[webhook_id] = now + timedelta(seconds=pause)
        return pause

    def streak(self, webhook_id: str) -> int:
        return self._streak.get(webhook_id, 0)

    def limit(self, webhook_id: str, now: datetime) -> int | None:
        """Attempts the endpoint may have in flight now: 0 while paused, 1 to probe,
        None when its breaker is closed."""
        until = self._open_until.get(webhook_id)
        if until is None:
            return None
        return 0 if now < until else 1

    def limits(self, now: datetime) -> dict[str, int]:
        """Endpoint -> attempts it may have in flight now: 0 while paused, 1 to probe."""
        return {w: 0 if now < until else 1 for w, until in self._open_until.items()}
