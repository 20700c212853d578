"""The retry policy as pure functions: seeded jitter, Retry-After forms, clamping."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import DEFAULT_RETRY_SCHEDULE
from app.dispatch.retry import next_delay, parse_retry_after, retry_delay

NOW = datetime(2026, 1, 28, 9, 0, tzinfo=UTC)


def test_schedule_without_jitter_is_exact_then_gives_up() -> None:
    rng = random.Random(1)
    delays = [next_delay(n, DEFAULT_RETRY_SCHEDULE, 0.0, rng) for n in range(1, 11)]
    assert delays == [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, None]
    assert next_delay(0, DEFAULT_RETRY_SCHEDULE, 0.0, rng) is None


def test_jitter_is_bounded_and_deterministic_with_a_seed() -> None:
    first = [next_delay(n, DEFAULT_RETRY_SCHEDULE, 0.1, random.Random(7)) for n in range(1, 10)]
    again = [next_delay(n, DEFAULT_RETRY_SCHEDULE, 0.1, random.Random(7)) for n in range(1, 10)]
    assert first == again
    for delay, base in zip(first, DEFAULT_RETRY_SCHEDULE, strict=True):
        assert delay is not None
        assert base * 0.9 <= delay <= base * 1.1
    spread = {next_delay(1, (100,), 0.2, random.Random(seed)) for seed in range(50)}
    assert len(spread) > 40  # endpoints that failed together do not return together


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(minutes=10), usegmt=True), 600.0),
        (format_datetime(NOW - timedelta(minutes=10), usegmt=True), 0.0),
        ("Wed, 28 Jan 2026 09:02:00 GMT", 120.0),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def _delay(status: int | None, header: str | None, attempt: int = 1) -> float | None:
    return retry_delay(
        attempt,
        status_code=status,
        retry_after=header,
        schedule=(5, 30),
        jitter=0.0,
        retry_after_max=900,
        now=NOW,
        rng=random.Random(0),
    )


def test_retry_after_is_a_floor_on_429_and_503_only() -> None:
    assert _delay(429, "120") == 120
    assert _delay(503, "120") == 120
    assert _delay(500, "120") == 5  # other statuses: the schedule
    assert _delay(None, "120") == 5
    assert _delay(429, "1") == 5  # never earlier than our own schedule
    assert _delay(429, "0", attempt=2) == 30
    assert _delay(429, "999999") == 900  # clamped
    assert _delay(429, "garbage") == 5


def test_retry_after_never_extends_the_schedule() -> None:
    assert _delay(429, "60", attempt=3) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "9" * 5000,  # passes str.isdigit(), then int() would refuse or overflow
        "9" * 11,  # more digits than any delay anyone means
        "\u00b2",  # "²": str.isdigit() is true, int() refuses
        "\u0663\u0660",  # Arabic-Indic digits
        "1e3",
        "-5",
        "5.5",
        "Mon, 99 Foo 99999 99:99:99 GMT",
        "Fri, 31 Dec 9999 23:59:59 +9999",
        "\x00",
        "",
        " ",
        "Wed, 21 Oct 2015 07:28:00",  # no zone
    ],
)
def test_hostile_retry_after_is_ignored_never_an_error(hostile: str) -> None:
    assert parse_retry_after(hostile, NOW) is None
    delay = retry_delay(
        1,
        status_code=503,
        retry_after=hostile,
        schedule=(5,),
        jitter=0.0,
        retry_after_max=3600,
        now=NOW,
        rng=random.Random(1),
    )
    assert delay == 5  # the schedule alone


@given(st.text(max_size=80))
@settings(max_examples=500, deadline=None)
def test_any_retry_after_parses_to_none_or_a_bounded_delay(value: str) -> None:
    parsed = parse_retry_after(value, NOW)
    assert parsed is None or 0 <= parsed < 10**10 * 2
