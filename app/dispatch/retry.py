"""Retry policy: data (the schedule) plus pure functions, tested without sleeping.

Attempt 1 is the first POST; after failed attempt n the next waits `schedule[n-1]`
seconds (± `jitter` as a fraction, so endpoints that failed together do not all come
back in the same second). After attempt `len(schedule) + 1` fails we give up.

`Retry-After` (seconds or an HTTP date) is honoured on 429 and 503 as a *floor*: the
next attempt is never earlier than the receiver asked, and never earlier than our own
schedule either (a receiver saying `Retry-After: 0` does not make a failing endpoint
hammered). It is clamped to `retry_after_max_seconds`, so a receiver cannot park a
delivery for a year; the attempt still counts against the schedule. The header is
the receiver's to write, so it is parsed strictly: ASCII digits (at most
`RETRY_AFTER_MAX_DIGITS`) or an HTTP date; anything else is ignored, never an error.
"""

import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_AFTER_MAX_DIGITS = 10  # 317 years: more is not a delay anyone means
_ASCII_DIGITS = frozenset("0123456789")


def next_delay(
    attempt_number: int, schedule: Sequence[int], jitter: float, rng: random.Random
) -> float | None:
    """Seconds to wait after failed attempt `attempt_number` (1-based); None = give up."""
    if attempt_number < 1 or attempt_number > len(schedule):
        return None
    base = float(schedule[attempt_number - 1])
    if jitter <= 0:
        return base
    return base * (1.0 + rng.uniform(-jitter, jitter))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip(" \t")
    if not value or len(value) > 64:
        return None
    if set(value) <= _ASCII_DIGITS:  # str.isdigit() also takes "²" and "٣"
        return float(int(value)) if len(value) <= RETRY_AFTER_MAX_DIGITS else None
    if not value.isascii():
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT; a naive parse means "-0000"
        return None
    return max(0.0, (moment - now).total_seconds())


def retry_delay(
    attempt_number: int,
    *,
    status_code: int | None,
    retry_after: str | None,
    schedule: Sequence[int],
    jitter: float,
    retry_after_max: float,
    now: datetime,
    rng: random.Random,
) -> float | None:
    """The delay before the next attempt after a failed one, or None when out of attempts."""
    delay = next_delay(attempt_number, schedule, jitter, rng)
    if delay is None:
        return None
    if status_code in RETRY_AFTER_STATUSES:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            delay = max(delay, min(asked, retry_after_max))
    return delay
