"""The baseline a Python team would otherwise build: Celery + Redis + requests.

One Celery task per delivery, signing with HMAC-SHA256 and posting with a
requests.Session per worker process (prefork). The script measures, in one run and
against the same loopback receiver Hookline is measured with:
  (a) throughput: N tasks enqueued the straightforward way (apply_async in a loop);
      end-to-end = N / (first enqueue -> last arrival), drain = first -> last arrival;
  (b) latency: a fixed rate for a fixed time, enqueue-to-arrival p50/p99.

Run: python -m bench.celery_baseline [--quick]      (from the repo root)
The worker module is this file: celery -A bench.celery_baseline worker ...
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

import aiohttp
import redis
import requests
from celery import Celery

from bench.common import (
    APP_EVENT,
    bench_env,
    envelope_body,
    latency_summary_ms,
    now_ns,
    paced,
    print_table,
    spawn,
    spawn_listening,
    terminate,
)

BROKER_URL = "redis://127.0.0.1:6379/5"
# Measured here: gossip/mingle/heartbeat cost the worker's main process ~30 % of its
# drain rate (pure drain ~450/s with them, ~550-690/s without), so the best-tuned
# baseline turns them off; --plain-worker measures the stock command line.
TUNED_WORKER_OPTIONS = ("--without-gossip", "--without-mingle", "--without-heartbeat")
SECRET = "whsec_bench_celery_baseline_0123456789abcdef"  # test-only secret

app = Celery("bench_baseline", broker=BROKER_URL)
app.conf.update(
    task_ignore_result=True,  # no result backend: the fairest, fastest setup
    result_backend=None,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_PREFETCH", "16")),
    worker_hijack_root_logger=False,
)

_session: requests.Session | None = None


def _http() -> requests.Session:
    """One keep-alive session per worker process, created after the fork."""
    global _session
    if _session is None:
        _session = requests.Session()
    return _session


@app.task(name="bench.deliver", ignore_result=True)  # type: ignore[untyped-decorator]
def deliver(url: str, body: str, delivery_id: str, event_type: str) -> int:
    """Sign and POST one delivery, as SPEC §3 asks; non-2xx raises (Celery logs it)."""
    ts = str(int(time.time() * 1000))
    signature = hmac.new(SECRET.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    response = _http().post(
        url,
        data=body.encode(),
        headers={
            "content-type": "application/json",
            "x-webhook-timestamp": ts,
            "x-webhook-signature": signature,
            "x-webhook-id": delivery_id,
            "x-webhook-event": event_type,
        },
        timeout=10,
        allow_redirects=False,
    )
    response.raise_for_status()
    return response.status_code


class _Receiver:
    """Client side of bench.receiver running in its own process."""

    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http = http
        self.base = f"http://127.0.0.1:{port}"
        self.hook_url = f"{self.base}/hook"

    async def stats(self) -> dict[str, int]:
        async with self.http.get(f"{self.base}/stats") as resp:
            result: dict[str, int] = await resp.json()
            return result

    async def reset(self) -> None:
        async with self.http.delete(f"{self.base}/stats") as resp:
            resp.raise_for_status()

    async def latencies(self) -> list[int]:
        async with self.http.get(f"{self.base}/latencies") as resp:
            result: list[int] = await resp.json()
            return result

    async def wait_for(self, count: int, stall_s: float = 30.0) -> dict[str, int]:
        """Poll until `count` arrivals; fail if nothing new arrives for `stall_s`."""
        seen, since = -1, time.monotonic()
        while True:
            stats = await self.stats()
            if stats["count"] >= count:
                return stats
            if stats["count"] != seen:
                seen, since = stats["count"], time.monotonic()
            elif time.monotonic() - since > stall_s:
                raise RuntimeError(f"stalled at {seen}/{count} deliveries")
            await asyncio.sleep(0.02)


async def _wait_worker_ready(worker: asyncio.subprocess.Process, log: IO[Any]) -> None:
    """A ping answered by the worker proves it consumes from the broker."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.returncode is not None:
            log.seek(0)
            raise RuntimeError(f"celery worker exited:\n{log.read()[-2000:]!r}")
        replies = await asyncio.to_thread(app.control.ping, timeout=0.5)
        if replies:
            return
    raise RuntimeError("celery worker did not answer a ping within 60 s")


def _enqueue(url: str, bodies: list[str], first_id: int) -> None:
    for offset, body in enumerate(bodies):
        deliver.apply_async(args=(url, body, f"dlv_{first_id + offset}", APP_EVENT))


async def run_baseline(
    n_events: int,
    rate: int,
    seconds: float,
    *,
    concurrency: int = 8,
    prefetch: int = 16,
    worker_options: Sequence[str] = TUNED_WORKER_OPTIONS,
) -> dict[str, float]:
    """Start receiver + Celery worker, measure throughput then latency, clean up."""
    redis.Redis.from_url(BROKER_URL).flushdb()
    procs: list[asyncio.subprocess.Process] = []
    log = tempfile.TemporaryFile("w+")  # closed in finally
    try:
        receiver_proc, port = await spawn_listening(
            [sys.executable, "-m", "bench.receiver", "--port", "0", "--secret", SECRET]
        )
        procs.append(receiver_proc)
        worker_args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.celery_baseline",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=warning",
        ]
        worker_args += list(worker_options)
        env = bench_env({"BENCH_PREFETCH": str(prefetch)})
        procs.append(await spawn(worker_args, env=env, stdout=log))
        async with aiohttp.ClientSession() as http:
            rx = _Receiver(http, port)
            await _wait_worker_ready(procs[-1], log)
            warm = 4 * concurrency  # every pool process imports requests, opens its socket
            await asyncio.to_thread(
                _enqueue, rx.hook_url, [envelope_body(i).decode() for i in range(warm)], 0
            )
            await rx.wait_for(warm)
            await rx.reset()
            return await _measure(rx, n_events, rate, seconds, concurrency)
    finally:
        for proc in reversed(procs):
            await terminate(proc)
        log.close()
        redis.Redis.from_url(BROKER_URL).flushdb()


async def _measure(
    rx: _Receiver, n_events: int, rate: int, seconds: float, concurrency: int
) -> dict[str, float]:
    bodies = [envelope_body(i).decode() for i in range(n_events)]
    start = now_ns()
    _enqueue(rx.hook_url, bodies, 1_000_000)  # blocking on purpose: nothing else runs here
    enqueued = now_ns()
    at_enqueued = (await rx.stats())["count"]
    stats = await rx.wait_for(n_events)
    if stats["unique"] != n_events or stats["bad_signatures"]:
        raise RuntimeError(f"receiver saw duplicates or bad signatures: {stats}")
    result: dict[str, float] = {
        "concurrency": float(concurrency),
        "n_events": float(n_events),
        "enqueue_per_s": n_events / ((enqueued - start) / 1e9),
        "e2e_per_s": n_events / ((stats["last_ns"] - start) / 1e9),
        "drain_per_s": (n_events - 1) / ((stats["last_ns"] - stats["first_ns"]) / 1e9),
        # The worker alone, once the producer no longer competes for the CPUs.
        "drain_after_enqueue_per_s": (n_events - at_enqueued)
        / max((stats["last_ns"] - enqueued) / 1e9, 1e-9),
    }

    await rx.reset()
    base = 2_000_000

    def fire(i: int) -> None:
        body = envelope_body(base + i, now_ns()).decode()
        deliver.apply_async(args=(rx.hook_url, body, f"dlv_{base + i}", APP_EVENT))

    pacing = await paced(rate, seconds, fire)
    expected = int(rate * seconds)
    await rx.wait_for(expected)
    result.update(latency_summary_ms(await rx.latencies()))
    result.update(rate=float(rate), seconds=seconds, worst_late_ms=pacing["worst_late_ms"])
    return result


def print_results(result: dict[str, float], title: str = "Celery baseline") -> None:
    """The figures as a table (shared with bench_delivery's side-by-side output)."""
    rows = [
        ["enqueue (N tasks, apply_async)", result["enqueue_per_s"], "tasks/s"],
        ["end-to-end (first enqueue -> last arrival)", result["e2e_per_s"], "deliveries/s"],
        ["drain (first -> last arrival)", result["drain_per_s"], "deliveries/s"],
        ["drain once enqueue is done", result["drain_after_enqueue_per_s"], "deliveries/s"],
        [f"p50 enqueue->arrival @ {result['rate']:.0f}/s", result["p50_ms"], "ms"],
        [f"p99 enqueue->arrival @ {result['rate']:.0f}/s", result["p99_ms"], "ms"],
        ["max enqueue->arrival", result["max_ms"], "ms"],
    ]
    print(
        f"\n{title}: prefork x{result['concurrency']:.0f}, N={result['n_events']:.0f}, "
        f"{result['rate']:.0f}/s for {result['seconds']:.0f} s, {os.cpu_count()} CPUs"
    )
    print_table(["figure", "value", "unit"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Celery + Redis + requests webhook baseline")
    parser.add_argument("-n", "--events", type=int, default=20_000, help="throughput run size")
    parser.add_argument("--rate", type=int, default=500, help="latency run events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run duration")
    parser.add_argument("--concurrency", type=int, default=8, help="prefork processes")
    parser.add_argument("--prefetch", type=int, default=16, help="worker_prefetch_multiplier")
    parser.add_argument(
        "--plain-worker",
        action="store_true",
        help="stock worker: keep gossip, mingle and heartbeat (slower)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 events, 3 s")
    parser.add_argument(
        "--worker-option",
        action="append",
        default=[],
        help="extra celery worker flag, repeatable (e.g. --worker-option=--without-gossip)",
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds = 2_000, 3.0

    def _stop(*_: object) -> None:
        raise KeyboardInterrupt  # run the finally blocks that stop the children

    signal.signal(signal.SIGTERM, _stop)
    extra = [*(() if args.plain_worker else TUNED_WORKER_OPTIONS), *args.worker_option]
    result = asyncio.run(
        run_baseline(
            args.events,
            args.rate,
            args.seconds,
            concurrency=args.concurrency,
            prefetch=args.prefetch,
            worker_options=extra,
        )
    )
    print_results(result)


if __name__ == "__main__":
    main()
