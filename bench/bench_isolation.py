"""Isolation benchmark: 100 endpoints of which 10 answer after 2 s and 10 answer 500.

Issue 11's figure (b). One reseller, 100 webhooks on one receiver process (paths
`/h…` healthy, `/slow…` 2 s, `/fail…` 500), every event fanned out to all 100; a real
`serve` (dispatcher off) and one `worker` at the shipped defaults, PostgreSQL. Two runs
in one invocation, the same load:

- clean: all 100 endpoints healthy;
- troubled: 80 healthy, 10 slow, 10 failing.

Each run measures (1) healthy endpoints' ingest -> arrival p50/p99 at a steady
`--rate` events/s (x100 deliveries) for `--seconds`, then (2) a burst of `--burst`
events through batch ingest: healthy deliveries/s until the last healthy arrival.
Targets: troubled healthy p99 <= 1.5x clean, troubled healthy deliveries/s >= 80 % of
clean (measured over the same 80 endpoints in both runs).

Run: python -m bench.bench_isolation [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any

import aiohttp

from bench.bench_delivery import PG_ADMIN, Receiver, _admin_sql, _post, _start_hookline
from bench.common import (
    ingest_event,
    latency_summary_ms,
    now_ns,
    paced,
    print_table,
    spawn_listening,
    terminate,
)

ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789"}
ENDPOINTS, SLOW, FAILING = 100, 10, 10


async def _setup(http: aiohttp.ClientSession, url: str, rx: Receiver, troubled: bool) -> str:
    async with http.post(f"{url}/v1/admin/resellers", json={"name": "Iso"}, headers=ADMIN) as r:
        headers = {"Authorization": f"Bearer {(await r.json())['apiKey']}"}
    async with http.post(f"{url}/v1/organisations", json={"name": "O"}, headers=headers) as r:
        ingest_key: str = (await r.json())["ingestKey"]
    for i in range(ENDPOINTS):
        kind = "h"
        if troubled and i < SLOW:
            kind = "slow"
        elif troubled and i < SLOW + FAILING:
            kind = "fail"
        body = {
            "name": f"E{i}",
            "url": f"{rx.base}/{kind}{i}",
            "events": ["desktop.app_tracking.captured"],
        }
        async with http.post(f"{url}/v1/webhooks", json=body, headers=headers) as r:
            assert r.status == 201, await r.text()
    return ingest_key


async def _run(args: argparse.Namespace, troubled: bool) -> dict[str, float]:
    name = f"hookline_iso_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    procs: list[Any] = []
    healthy = ENDPOINTS - (SLOW + FAILING if troubled else 0)
    measured = ENDPOINTS - SLOW - FAILING  # the same 80 endpoints in both runs
    try:
        receiver, port = await spawn_listening([sys.executable, "-m", "bench.receiver"])
        procs.append(receiver)
        hookline, url = await _start_hookline(f"{base}/{name}", "worker", 1)
        procs.extend(hookline)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            rx = Receiver(http, port)
            key = await _setup(http, url, rx, troubled)
            await _post(
                http, url, key, "/v1/events/batch", {"events": [ingest_event(i) for i in range(5)]}
            )
            await rx.wait_for(5 * healthy)
            await rx.reset()

            async def fire(i: int) -> None:
                await _post(http, url, key, "/v1/events", ingest_event(1_000_000 + i, now_ns()))

            await paced(args.rate, args.seconds, fire)
            sent = int(args.rate * args.seconds)
            await rx.wait_for(sent * healthy)
            latencies = latency_summary_ms(await rx.latencies())
            await rx.reset()

            start = now_ns()
            for first in range(0, args.burst, 50):
                events = [
                    ingest_event(2_000_000 + i, now_ns())
                    for i in range(first, min(first + 50, args.burst))
                ]
                await _post(http, url, key, "/v1/events/batch", {"events": events})
            stats = await rx.wait_for(args.burst * healthy, stall_s=60)
            per_s = args.burst * healthy / ((stats["last_ns"] - start) / 1e9)
            return {
                **latencies,
                "healthy_per_s": per_s * measured / healthy,
                "troubled_attempts": stats["troubled"],
            }
    finally:
        for proc in reversed(procs):
            await terminate(proc)
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(args: argparse.Namespace) -> None:
    clean = await _run(args, troubled=False)
    troubled = await _run(args, troubled=True)
    print(
        f"\nIsolation (1 worker, shipped defaults, PostgreSQL, {os.cpu_count()} CPUs): "
        f"100 endpoints, "
        f"{args.rate} events/s x 100 for {args.seconds:.0f} s, then a burst of {args.burst} events"
    )
    rows: list[list[object]] = [
        ["healthy p50 ingest->arrival, clean", clean["p50_ms"], "ms"],
        ["healthy p50, 10 slow + 10 failing", troubled["p50_ms"], "ms"],
        ["healthy p99 ingest->arrival, clean", clean["p99_ms"], "ms"],
        ["healthy p99, 10 slow + 10 failing", troubled["p99_ms"], "ms"],
        ["p99 ratio (troubled / clean)", troubled["p99_ms"] / clean["p99_ms"], "x"],
        ["80 endpoints' deliveries/s in the burst, clean", clean["healthy_per_s"], "deliveries/s"],
        ["the same, 10 slow + 10 failing", troubled["healthy_per_s"], "deliveries/s"],
        ["throughput kept", troubled["healthy_per_s"] / clean["healthy_per_s"] * 100, "%"],
        ["attempts that reached the troubled endpoints", troubled["troubled_attempts"], ""],
    ]
    print_table(["figure", "value", "unit"], rows)
    p99_ok = troubled["p99_ms"] <= 1.5 * clean["p99_ms"]
    kept_ok = troubled["healthy_per_s"] >= 0.8 * clean["healthy_per_s"]
    print(
        f"targets: healthy p99 <= 1.5x clean {'OK' if p99_ok else 'MISSED'}; "
        f"throughput >= 80 % of clean {'OK' if kept_ok else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_isolation", description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="events/s (x100 deliveries)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=200, help="events (x100 deliveries)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s, a burst of 50")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.burst = 3.0, 50
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
