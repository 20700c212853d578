"""The ingest bytes-in-flight budget: first come, first served, bounded waits."""

import asyncio

import pytest

from app.events.intake import ByteBudget


async def test_grants_within_the_limit_and_queues_beyond_it_in_order() -> None:
    budget = ByteBudget(100)
    await budget.acquire(60, timeout=1)
    order: list[str] = []

    async def wait(name: str, size: int) -> None:
        await budget.acquire(size, timeout=5)
        order.append(name)

    big = asyncio.ensure_future(wait("big", 80))
    await asyncio.sleep(0)
    small = asyncio.ensure_future(wait("small", 10))  # fits now, but waits behind "big"
    await asyncio.sleep(0.01)
    assert order == [] and budget.used == 60
    budget.release(60)
    await asyncio.gather(big, small)
    assert order == ["big", "small"]
    assert budget.used == 90


async def test_a_wait_that_times_out_gives_nothing_and_lets_the_next_through() -> None:
    budget = ByteBudget(100)
    await budget.acquire(90, timeout=1)
    with pytest.raises(TimeoutError):
        await budget.acquire(50, timeout=0.05)
    assert budget.used == 90
    await budget.acquire(10, timeout=0.05)  # the timed-out waiter no longer blocks the queue
    assert budget.used == 100
    budget.release(100)
    assert budget.used == 0


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    budget = ByteBudget(10)
    await budget.acquire(10, timeout=1)
    waiter = asyncio.ensure_future(budget.acquire(5, timeout=5))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    budget.release(10)
    assert budget.used == 0
    await budget.acquire(10, timeout=0.05)
    assert budget.used == 10
