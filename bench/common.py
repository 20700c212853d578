"""Shared benchmark helpers: event bodies, pacing, percentiles, tables, subprocesses.

Kept free of Hookline imports so the Celery baseline and the Hookline runs share
exactly the same payloads, pacing and arithmetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_EVENT = "desktop.app_tracking.captured"
TARGET_BODY_BYTES = 1024
_PAD_KEY = "notes"


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary_ms(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50/p99/max in milliseconds from nanosecond latencies."""
    ms = [v / 1e6 for v in latencies_ns]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else math.nan,
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Plain aligned table; floats get a sensible precision."""

    def fmt(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for raw, row in zip(rows, cells, strict=True):
        # Numbers right-aligned so magnitudes compare at a glance; text left-aligned.
        parts = [
            c.rjust(w) if isinstance(v, int | float) else c.ljust(w)
            for v, c, w in zip(raw, row, widths, strict=True)
        ]
        print("  ".join(parts).rstrip())


def tracking_data(i: int, sent_ns: int | None = None) -> list[dict[str, Any]]:
    """One app-tracking `data` array (SPEC Appendix A), padded so the envelope is ~1 KiB.

    `sentNs` is a decimal *string*: time.time_ns() exceeds 2^53-1, which Hookline's
    ingest refuses as a number (SPEC §2), and a string survives canonical JSON as-is.
    """
    org, team, user = f"org_{i % 7}", f"team_{i % 13}", f"user_{i % 101}"
    item: dict[str, Any] = {
        "organisation": {"organisationId": org},
        "team": {"teamId": team},
        "user": {"userId": user},
        "tracking": {
            "trackingId": f"trk_{i:012d}",
            "app": {
                "name": "Visual Studio Code",
                "type": "application",
                "category": "Development",
                "iconUrl": "https://cdn.example.com/icons/vscode.png",
                "domain": "code.visualstudio.com",
                "fullUrl": "https://code.visualstudio.com/docs/editor/codebasics",
                "productivityStatus": "productive",
            },
            "time": {
                "startDate": "2026-01-28T09:14:05.035Z",
                "endDate": "2026-01-28T09:19:05.035Z",
                "durationInSeconds": 300,
            },
            "trackingMode": "online",
            "operatingSystem": "linux",
        },
    }
    if sent_ns is not None:
        item["sentNs"] = str(sent_ns)
    return [item]


def envelope(i: int, sent_ns: int | None = None) -> dict[str, Any]:
    """The delivered envelope (SPEC §3 field order), `data` padded so it encodes to ~1 KiB."""
    data = tracking_data(i, sent_ns)
    env: dict[str, Any] = {
        "event": APP_EVENT,
        "version": "v1",
        "agent": "desktop-agent",
        "timestamp": 1769591645035 + i,
        "eventId": f"evt_bench{i:016d}",
        "simulation": False,
        "parentOrganisation": {"id": "rsl_bench0000000000", "name": "Bench Reseller"},
        "organisation": {"id": f"org_bench{i % 7:010d}", "name": f"Child Org {i % 7}"},
        "userId": f"user_{i % 101}",
        "teamId": f"team_{i % 13}",
        "data": data,
    }
    size = len(_compact(env))
    # Pad inside the data object so the body stays a realistic event of ~1 KiB.
    data[0][_PAD_KEY] = "x" * max(0, TARGET_BODY_BYTES - size - len(f',"{_PAD_KEY}":""'))
    return env


def envelope_body(i: int, sent_ns: int | None = None) -> bytes:
    """The envelope as compact JSON bytes (what the Celery baseline delivers)."""
    return _compact(envelope(i, sent_ns))


def ingest_event(i: int, sent_ns: int | None = None) -> dict[str, Any]:
    """The body a desktop agent posts to `POST /v1/events`; Hookline's envelope is ~1 KiB."""
    env = envelope(i, sent_ns)
    keys = ("event", "userId", "teamId", "timestamp", "data")
    return {k: env[k] for k in keys}


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


async def paced(
    rate: float,
    seconds: float,
    fire: Callable[[int], Awaitable[None] | None],
) -> dict[str, float]:
    """Call fire(i) at a fixed rate against absolute deadlines (no drift accumulates).

    A coroutine returned by fire runs as a task so a slow send never delays the next
    tick; all tasks are awaited before returning. Reports the worst lateness.
    """
    total = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: set[asyncio.Task[None]] = set()
    worst_late = 0.0
    for i in range(total):
        deadline = start + i / rate
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            worst_late = max(worst_late, -delay)
        result = fire(i)
        if result is not None:
            task = asyncio.ensure_future(result)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    return {"sent": float(total), "elapsed_s": elapsed, "worst_late_ms": worst_late * 1e3}


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for child processes: the repo importable, unbuffered output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


async def spawn(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: int | IO[Any] | None = None,
) -> asyncio.subprocess.Process:
    """Start a child in its own session so terminate() can stop its whole group."""
    return await asyncio.create_subprocess_exec(
        *args,
        cwd=REPO_ROOT,
        env=env or bench_env(),
        stdout=stdout,
        stderr=asyncio.subprocess.STDOUT if stdout is not None else None,
        start_new_session=True,
    )


async def spawn_listening(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 15.0
) -> tuple[asyncio.subprocess.Process, int]:
    """Start a child that prints `LISTENING <port>` first and return it with the port."""
    proc = await spawn(args, env=env, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    except TimeoutError:
        await terminate(proc)
        raise RuntimeError(f"{args[0]} did not print LISTENING within {timeout}s") from None
    words = line.decode().split()
    if len(words) != 2 or words[0] != "LISTENING":
        await terminate(proc)
        raise RuntimeError(f"unexpected first line from child: {line!r}")
    return proc, int(words[1])


async def terminate(proc: asyncio.subprocess.Process, timeout: float = 10.0) -> None:
    """SIGTERM the child (a warm shutdown for Celery), then SIGKILL whatever of its
    process group lingers: pool children must never outlive a benchmark."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


def now_ns() -> int:
    """Wall-clock ns, the same clock the receiver stamps arrivals with."""
    return time.time_ns()
