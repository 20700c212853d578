"""Stopping a background task for certain.

On Python 3.11 `asyncio.wait_for` (and library code built on it, asyncpg's included)
returns the result instead of raising when a cancellation arrives just as the awaited
thing finishes: the task swallows the cancel and carries on, and a shutdown that awaits
it waits forever. So a stop cancels again until the task has ended, and never turns the
caller's own cancellation into a silent return.
"""

import asyncio
from typing import Any

RECANCEL_SECONDS = 0.1


async def cancel_and_wait(task: "asyncio.Task[Any] | None") -> None:
    """Cancel `task` and wait until it has ended (re-cancelling a swallowed cancel);
    whatever it raised is dropped, a cancellation of the caller is not."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning
