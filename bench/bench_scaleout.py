"""Scale-out benchmark: deliveries per second with 1, 2 and 4 worker processes.

One PostgreSQL database, one API process (`python -m app serve`, dispatcher off) for
ingest, the fast loopback receiver (bench.receiver, its own process). For each worker
count: N events (1 KiB envelopes) are pre-loaded through `POST /v1/events/batch`, then
the workers drain them. The workers are started before the load and frozen
(SIGSTOP) while it goes in, then all continued at once (SIGCONT): none drains alone
while the others are still importing, and start-up time is not counted.

drain = N / (SIGCONT -> last arrival at the receiver). Every run checks N distinct
delivery ids and no bad signature. All processes share this machine's CPUs with
PostgreSQL: the figures say how far more processes help *here*, not on many machines.

Run: python -m bench.bench_scaleout [--quick] [-n EVENTS] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from typing import Any

import aiohttp

from bench.bench_delivery import (
    BATCH,
    PG_ADMIN,
    Receiver,
    _admin_sql,
    _post,
    _spawn_worker,
    _start_hookline,
    _tenant,
)
from bench.common import bench_env, ingest_event, now_ns, print_table, spawn_listening, terminate


def _worker_env(database_url: str) -> dict[str, str]:
    return bench_env(
        {
            "HOOKLINE_DATABASE_URL": database_url,
            "HOOKLINE_AUTO_MIGRATE": "false",
            "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
            "HOOKLINE_LOG_LEVEL": "warning",
        }
    )


async def _load(http: aiohttp.ClientSession, url: str, key: str, first: int, n: int) -> float:
    """Ingest n events in batches; returns events/s."""
    started = time.monotonic()
    for start in range(first, first + n, BATCH):
        events = [ingest_event(i) for i in range(start, min(start + BATCH, first + n))]
        await _post(http, url, key, "/v1/events/batch", {"events": events})
    return n / (time.monotonic() - started)


async def _drain(
    http: aiohttp.ClientSession,
    url: str,
    key: str,
    rx: Receiver,
    database_url: str,
    *,
    workers: int,
    n: int,
    first: int,
) -> dict[str, float]:
    await rx.reset()
    procs: list[Any] = []
    try:
        started = await asyncio.gather(
            *(_spawn_worker(_worker_env(database_url)) for _ in range(workers))
        )
        procs = [proc for proc, _ in started]
        for proc in procs:
            proc.send_signal(signal.SIGSTOP)
        ingest_per_s = await _load(http, url, key, first, n)
        go = now_ns()
        for proc in procs:
            proc.send_signal(signal.SIGCONT)
        stats = await rx.wait_for(n)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        await asyncio.gather(*(terminate(proc) for proc in procs))
    if stats["unique"] != n or stats["bad_signatures"]:
        raise RuntimeError(f"duplicates or bad signatures: {stats}")
    seconds = (stats["last_ns"] - go) / 1e9
    return {
        "workers": workers,
        "ingest_per_s": ingest_per_s,
        "seconds": seconds,
        "per_s": n / seconds,
    }


async def run(args: argparse.Namespace) -> list[dict[str, float]]:
    name = f"hookline_scaleout_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    database_url = f"{base}/{name}"
    procs: list[Any] = []
    results: list[dict[str, float]] = []
    try:
        receiver, port = await spawn_listening([sys.executable, "-m", "bench.receiver"])
        procs.append(receiver)
        hookline, url = await _start_hookline(database_url, "api", workers=0)  # dispatcher off
        procs.extend(hookline)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            rx = Receiver(http, port)
            key, secret = await _tenant(http, url, f"{rx.base}/hook")
            async with http.put(f"{rx.base}/secret", data=secret.encode()):
                pass
            # Warm-up: the API's pools and caches, the receiver, PostgreSQL's buffers.
            await _drain(http, url, key, rx, database_url, workers=1, n=BATCH, first=0)
            first = BATCH
            for workers in args.workers:
                result = await _drain(
                    http, url, key, rx, database_url, workers=workers, n=args.events, first=first
                )
                first += args.events
                results.append(result)
                print(f"{workers} worker(s): {result['per_s']:,.0f} deliveries/s", flush=True)
    finally:
        for proc in reversed(procs):
            await terminate(proc)
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def report(results: list[dict[str, float]], n: int) -> None:
    print(f"\nHookline scale-out (PostgreSQL, `python -m app worker` processes): N={n:,} "
          f"pre-loaded events per run, {os.cpu_count()} CPUs shared with PostgreSQL, "
          "the API and the receiver")  # fmt: skip
    single = results[0]["per_s"]
    rows = [
        [int(r["workers"]), r["per_s"], r["per_s"] / single, r["seconds"], r["ingest_per_s"]]
        for r in results
    ]
    print_table(["workers", "deliveries/s", "vs first", "drain s", "pre-load events/s"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_scaleout", description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3,000 events")
    args = parser.parse_args(argv)
    args.workers = [int(part) for part in args.workers.split(",")]
    if args.quick:
        args.events = 3_000
    import uvloop

    report(uvloop.run(run(args)), args.events)


if __name__ == "__main__":
    main()
