"""`cancel_and_wait` ends a task that swallows a cancellation (as Python 3.11's
`asyncio.wait_for` does when the cancel meets a finished result) and never hides the
caller's own cancellation."""

import asyncio

import pytest

from app.kit.tasks import cancel_and_wait

pytestmark = pytest.mark.timeout(20)


async def _swallows_first_cancel(swallowed: list[int]) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        swallowed.append(1)  # carries on, as a swallowed cancel does
    await asyncio.sleep(60)


async def test_a_task_that_swallows_the_first_cancel_is_ended() -> None:
    swallowed: list[int] = []
    task = asyncio.create_task(_swallows_first_cancel(swallowed))
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and swallowed == [1]


async def test_an_exception_the_task_raised_is_dropped() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert isinstance(task.exception(), ValueError)
    await cancel_and_wait(None)  # nothing started: nothing to do


async def test_the_callers_own_cancellation_still_propagates() -> None:
    released = asyncio.Event()

    async def refuses() -> None:
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue

    hopeless = asyncio.create_task(refuses())
    stopper = asyncio.create_task(cancel_and_wait(hopeless))
    await asyncio.sleep(0.3)  # re-cancelled a few times, still running
    assert not stopper.done() and not hopeless.done()
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()
    released.set()
    await cancel_and_wait(hopeless)
    assert hopeless.done()
