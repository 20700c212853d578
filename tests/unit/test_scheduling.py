"""The scheduler's rules as pure code: fair shares, turns, the reserve, adaptive limits,
ordered streaks and storable text (no database, no sleeping)."""

from datetime import UTC, datetime, timedelta

from app.dispatch.adaptive import INITIAL, AdaptiveLimit
from app.dispatch.breaker import Breakers
from app.dispatch.claim import Job
from app.dispatch.results import Outcome
from app.dispatch.scheduler import Scheduler, water_fill
from app.dispatch.streaks import _runs
from app.egress.sender import AttemptKind
from app.kit.text import storable_text

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def job(webhook: str, n: int) -> Job:
    return Job(
        delivery_id=f"dlv_{webhook}_{n}",
        lease_token="t",
        leased_until=T0 + timedelta(seconds=60),
        attempt_number=1,
        webhook_id=webhook,
        event_type="desktop.app_tracking.captured",
        url="https://example.com/",
        secret="s",
        body=b"{}",
    )


def outcome(j: Job, kind: AttemptKind = AttemptKind.SUCCESS, status: int | None = 200) -> Outcome:
    return Outcome(
        job=j, kind=kind, attempted_at=T0, finished_at=T0, latency_ms=5, status_code=status
    )


def scheduler(capacity: int) -> Scheduler:
    return Scheduler(capacity, Breakers(failures=10, cooldown_seconds=5), monotonic=lambda: 0.0)


def drain(s: Scheduler) -> list[Job]:
    started = []
    while (j := s.take(T0)) is not None:
        started.append(j)
    return started


def test_water_fill_gives_small_demands_all_and_splits_the_rest() -> None:
    assert water_fill({"a": 1000}, 256) == {"a": 256}  # alone: everything
    assert water_fill({"a": 2, "b": 1000, "c": 1000}, 256) == {"a": 2, "b": 127, "c": 127}
    assert water_fill({"a": 0}, 8) == {"a": 1}  # never below one slot
    shares = water_fill({f"w{i}": 50 for i in range(100)}, 256)
    assert set(shares.values()) == {2}


def test_an_endpoint_alone_may_use_every_slot() -> None:
    s = scheduler(64)
    for round_ in range(10):  # successes grow its limit; every claim refreshes its share
        s.add(job("a", round_ * 1000 + i) for i in range(100))
        s.claim_budgets(T0)
        for j in drain(s):
            s.finished(outcome(j))
    s.add(job("a", i) for i in range(100))
    s.claim_budgets(T0)
    assert len(drain(s)) == 64


def test_endpoints_take_turns() -> None:
    s = scheduler(4)
    s.add([*(job("a", i) for i in range(10)), *(job("b", i) for i in range(10))])
    assert [j.webhook_id for j in drain(s)] == ["a", "b", "a", "b"]


def test_a_backlog_never_crowds_out_a_newcomer() -> None:
    s = scheduler(16)
    s.add(job("slow", i) for i in range(100))
    s.claim_budgets(T0)
    started = drain(s)
    assert {j.webhook_id for j in started} == {"slow"}
    s.add(job("new", i) for i in range(3))
    s.claim_budgets(T0)
    budgets = s.claim_budgets(T0)[1]
    # The slow endpoint holds its slots; what it may still claim is bounded by its share
    # and the newcomer's three jobs start as slots free: the reserve is theirs.
    assert budgets["slow"] <= 2 * 16
    assert s.in_flight == len(started) == INITIAL  # the slow one's limit, not the 16 slots
    # The newcomer starts at once, from the free slots, though the backlog is older.
    assert [j.webhook_id for j in drain(s)] == ["new"] * 3


def test_failures_narrow_an_endpoint_to_one_slot_and_successes_widen_it() -> None:
    limit = AdaptiveLimit(ceiling=256)
    assert limit.value == INITIAL
    now = 0.0
    for _ in range(20):
        now += 1.0
        limit.record(kind=AttemptKind.TIMEOUT, status=None, latency=1.0, now=now)
    assert limit.value == 1
    for _ in range(200):
        now += 0.01
        limit.record(kind=AttemptKind.SUCCESS, status=200, latency=0.005, now=now)
    assert limit.value > 8


def test_failures_of_attempts_in_flight_together_cut_once() -> None:
    limit = AdaptiveLimit(ceiling=256)
    for _ in range(8):  # eight 503s reported in the same instant
        limit.record(kind=AttemptKind.HTTP_ERROR, status=503, latency=0.1, now=5.0)
    assert limit.value == INITIAL // 2


def test_a_4xx_is_the_receiver_at_work_not_trouble() -> None:
    limit = AdaptiveLimit(ceiling=256)
    for i in range(10):
        limit.record(kind=AttemptKind.HTTP_ERROR, status=400, latency=0.01, now=float(i))
    assert limit.value > INITIAL


def test_an_endpoint_that_gets_slower_loses_slots() -> None:
    limit = AdaptiveLimit(ceiling=256)
    now = 0.0
    for _ in range(30):
        now += 0.1
        limit.record(kind=AttemptKind.SUCCESS, status=200, latency=0.05, now=now)
    wide = limit.value
    for _ in range(30):
        now += 2.0
        limit.record(kind=AttemptKind.SUCCESS, status=200, latency=2.0, now=now)
    assert limit.value < wide


def test_a_paused_endpoint_starts_nothing_and_is_claimed_nothing() -> None:
    breakers = Breakers(failures=1, cooldown_seconds=30)
    s = Scheduler(8, breakers, monotonic=lambda: 0.0)
    breakers.record("a", succeeded=False, now=T0)
    s.add(job("a", i) for i in range(3))
    assert s.take(T0) is None
    assert s.claim_budgets(T0)[1]["a"] == 0
    assert len(s.drop("a")) == 3 and s.queued == 0


def test_streaks_follow_the_order_of_a_batch() -> None:
    runs = _runs(
        [
            *[("w", False, T0), ("w", True, T0), ("w", False, T0 + timedelta(seconds=1))],
            *[("x", False, T0), ("x", False, T0)],
            *[("y", False, T0), ("y", True, T0)],
        ]
    )
    assert (runs["w"].reset, runs["w"].failures, runs["w"].since) == (
        True,
        1,
        T0 + timedelta(seconds=1),
    )
    assert (runs["x"].reset, runs["x"].failures) == (False, 2)
    assert (runs["y"].reset, runs["y"].failures, runs["y"].since) == (True, 0, None)


def test_storable_text_replaces_what_databases_refuse() -> None:
    assert storable_text("a\x00b", limit=10) == "a\ufffdb"
    assert storable_text("x\ud800y", limit=10) == "x\ufffdy"
    assert storable_text("é" * 10, limit=4) == "éééé"
    assert storable_text(None, limit=4) is None
