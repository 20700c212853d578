"""Circuit breakers: when an endpoint is paused, probed, closed, and how long it waits."""

from datetime import UTC, datetime, timedelta

from app.dispatch.breaker import MAX_PAUSE_SECONDS, Breakers
from app.ops.metrics import REGISTRY

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(breakers: Breakers, times: int, when: datetime, webhook: str = "w1") -> None:
    for _ in range(times):
        breakers.record(webhook, succeeded=False, now=when)


def test_stays_closed_below_the_threshold() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 2, at(0))
    assert breakers.limits(at(0)) == {}


def test_opens_at_the_threshold_then_probes_one_at_a_time() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 3, at(0))
    assert breakers.limits(at(4.9)) == {"w1": 0}
    assert breakers.limits(at(5)) == {"w1": 1}


def test_a_success_anywhere_in_the_streak_resets_it() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 2, at(0))
    breakers.record("w1", succeeded=True, now=at(0))
    fail(breakers, 2, at(0))
    assert breakers.limits(at(0)) == {}


def test_a_successful_probe_closes_the_breaker() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 3, at(0))
    breakers.record("w1", succeeded=True, now=at(6))
    assert breakers.limits(at(6)) == {}
    fail(breakers, 2, at(7))  # a fresh streak: below the threshold again
    assert breakers.limits(at(7)) == {}


def test_failed_probes_double_the_pause_up_to_the_maximum() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 3, at(0))
    now, pauses = 0.0, []
    for _ in range(6):
        now += 5 if not pauses else pauses[-1]
        fail(breakers, 1, at(now))  # the probe, once the pause is over
        pause = next(s for s in range(1, 200) if breakers.limits(at(now + s)) == {"w1": 1})
        pauses.append(pause)
    assert pauses == [10, 20, 40, MAX_PAUSE_SECONDS, MAX_PAUSE_SECONDS, MAX_PAUSE_SECONDS]


def test_failures_of_attempts_already_in_flight_do_not_lengthen_the_pause() -> None:
    breakers = Breakers(failures=3, cooldown_seconds=5)
    fail(breakers, 3, at(0))
    fail(breakers, 13, at(1))  # the rest of the endpoint's slots, ending during the pause
    assert breakers.limits(at(5)) == {"w1": 1}


def test_endpoints_are_independent() -> None:
    breakers = Breakers(failures=2, cooldown_seconds=5)
    fail(breakers, 2, at(0), webhook="bad")
    fail(breakers, 1, at(0), webhook="other")
    assert breakers.limits(at(1)) == {"bad": 0}


def test_zero_failures_turns_breakers_off() -> None:
    breakers = Breakers(failures=0, cooldown_seconds=5)
    fail(breakers, 1000, at(0))
    assert breakers.limits(at(0)) == {}


def test_record_returns_the_pause_only_when_it_starts() -> None:
    breakers = Breakers(failures=2, cooldown_seconds=5)
    assert breakers.record("w1", succeeded=False, now=at(0)) is None
    assert breakers.record("w1", succeeded=False, now=at(0)) == 5
    assert breakers.record("w1", succeeded=False, now=at(1)) is None  # already paused
    assert breakers.record("w1", succeeded=False, now=at(5)) == 10  # the failed probe
    assert breakers.streak("w1") == 3


def test_open_breakers_are_counted_in_the_gauge() -> None:
    # The gauge is process-wide (other tests' breakers may be open): compare differences.
    def gauge() -> float:
        return REGISTRY.get_sample_value("hookline_breakers_open") or 0.0

    before = gauge()
    breakers = Breakers(failures=2, cooldown_seconds=5)
    fail(breakers, 2, at(0), "w1")
    fail(breakers, 2, at(0), "w2")
    fail(breakers, 2, at(6), "w1")  # a failed probe: still the one open breaker
    assert gauge() - before == 2
    breakers.record("w1", succeeded=True, now=at(20))
    breakers.record("w3", succeeded=True, now=at(20))  # never open: no change
    assert gauge() - before == 1
