"""End-to-end delivery benchmark: Hookline on PostgreSQL against the Celery baseline.

One run, the same fast loopback receiver (bench.receiver, its own process), and:
  (a) throughput: N events (1 KiB envelopes) posted through `POST /v1/events/batch`
      (1,000 per request) to a real `python -m app serve` process; end-to-end =
      N / (first ingest request -> last arrival at the receiver);
  (b) latency: single-event ingest at a fixed rate; p50/p99 from the moment the
      request is sent to the moment the receiver has the delivery;
then bench.celery_baseline.run_baseline with the same N, rate and duration, and the
ratio. Targets: >= 10x the baseline's end-to-end deliveries/s, p99 < 50 ms at 500/s.

Run: python -m bench.bench_delivery [--quick] [--mode worker|embedded] [--workers 1,2]
         [--no-baseline] [--sender aiohttp,pyreqwest] [--repeat 1]

`--sender pyreqwest` runs the workers as `python -m bench.reqwest_worker` (the real
Dispatcher over pyreqwest behind the same guard) instead of `python -m app worker`;
with several senders and `--repeat`, the runs alternate and a same-run ratio is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from bench.common import (
    bench_env,
    ingest_event,
    latency_summary_ms,
    now_ns,
    paced,
    print_table,
    spawn,
    spawn_listening,
    terminate,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
PG_ADMIN = os.environ.get("HOOKLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BATCH = 1000
WORKER_COMMANDS = {
    "aiohttp": [sys.executable, "-m", "app", "worker"],
    "pyreqwest": [sys.executable, "-m", "bench.reqwest_worker"],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _admin_sql(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class Receiver:
    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http, self.base = http, f"http://127.0.0.1:{port}"

    async def stats(self) -> dict[str, int]:
        async with self.http.get(f"{self.base}/stats") as response:
            result: dict[str, int] = await response.json()
            return result

    async def reset(self) -> None:
        async with self.http.delete(f"{self.base}/stats"):
            pass

    async def latencies(self) -> list[int]:
        async with self.http.get(f"{self.base}/latencies") as response:
            result: list[int] = await response.json()
            return result

    async def wait_for(self, count: int, stall_s: float = 30.0) -> dict[str, int]:
        seen, since = -1, time.monotonic()
        while True:
            stats = await self.stats()
            if stats["count"] >= count:
                return stats
            if stats["count"] != seen:
                seen, since = stats["count"], time.monotonic()
            elif time.monotonic() - since > stall_s:
                raise RuntimeError(f"stalled at {seen}/{count} deliveries")
            await asyncio.sleep(0.01)


async def _start_hookline(
    database_url: str,
    mode: str,
    workers: int,
    sender: str = "aiohttp",
    extra_env: dict[str, str] | None = None,
) -> tuple[list[Any], str]:
    port = _free_port()
    settings = {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        "HOOKLINE_LOG_LEVEL": "warning",
        "HOOKLINE_DISPATCHER": "on" if mode == "embedded" else "off",
        **(extra_env or {}),  # bench_tracing: HOOKLINE_OTEL_ENDPOINT
    }
    serve = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    procs: list[Any] = [await spawn(serve, env=bench_env(settings))]
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("hookline serve did not become ready")
    if mode == "worker":
        settings.update(HOOKLINE_AUTO_MIGRATE="false", HOOKLINE_DISPATCHER="on")
        for _ in range(workers):
            worker, _ = await _spawn_worker(bench_env(settings), sender)
            procs.append(worker)
    return procs, url


async def _spawn_worker(env: dict[str, str], sender: str = "aiohttp") -> tuple[Any, None]:
    proc = await spawn(WORKER_COMMANDS[sender], env=env, stdout=-1)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if b"WORKER READY" not in line:
        raise RuntimeError(f"worker did not start: {line!r}")
    return proc, None


async def _tenant(http: aiohttp.ClientSession, url: str, hook: str) -> tuple[str, str]:
    """A reseller, an organisation and one webhook pointing at the receiver."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with http.post(f"{url}/v1/admin/resellers", json={"name": "Bench"}, headers=admin) as r:
        api_key = (await r.json())["apiKey"]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with http.post(f"{url}/v1/organisations", json={"name": "Org"}, headers=headers) as r:
        ingest_key = (await r.json())["ingestKey"]
    body = {"name": "Bench", "url": hook, "events": ["desktop.app_tracking.captured"]}
    async with http.post(f"{url}/v1/webhooks", json=body, headers=headers) as r:
        secret = (await r.json())["secret"]
    return ingest_key, secret


async def _post(http: aiohttp.ClientSession, url: str, key: str, path: str, body: Any) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with http.post(f"{url}{path}", json=body, headers=headers) as response:
        if response.status != 202:
            raise RuntimeError(f"ingest answered {response.status}: {await response.text()}")


async def _measure(
    http: aiohttp.ClientSession, url: str, key: str, rx: Receiver, args: argparse.Namespace
) -> dict[str, float]:
    n = args.events
    batches = [
        {"events": [ingest_event(i) for i in range(start, min(start + BATCH, n))]}
        for start in range(0, n, BATCH)
    ]
    start = now_ns()
    for batch in batches:
        await _post(http, url, key, "/v1/events/batch", batch)
    ingested = now_ns()
    stats = await rx.wait_for(n)
    if stats["unique"] != n or stats["bad_signatures"]:
        raise RuntimeError(f"duplicates or bad signatures: {stats}")
    result: dict[str, float] = {
        "n_events": float(n),
        "ingest_per_s": n / ((ingested - start) / 1e9),
        "e2e_per_s": n / ((stats["last_ns"] - start) / 1e9),
        "drain_per_s": (n - 1) / ((stats["last_ns"] - stats["first_ns"]) / 1e9),
    }
    await rx.reset()
    base = 10_000_000

    per_request = max(1, args.latency_batch)

    async def fire(i: int) -> None:
        if per_request == 1:
            await _post(http, url, key, "/v1/events", ingest_event(base + i, now_ns()))
            return
        sent = now_ns()  # every event of the request carries the moment it was sent
        first = base + i * per_request
        events = [ingest_event(first + j, sent) for j in range(per_request)]
        await _post(http, url, key, "/v1/events/batch", {"events": events})

    requests = int(args.rate * args.seconds) // per_request
    pacing = await paced(args.rate / per_request, args.seconds, fire)
    await rx.wait_for(requests * per_request)
    result.update(latency_summary_ms(await rx.latencies()))
    result.update(rate=float(args.rate), worst_late_ms=pacing["worst_late_ms"])
    return result


async def run_hookline(
    args: argparse.Namespace,
    workers: int,
    sender: str = "aiohttp",
    extra_env: dict[str, str] | None = None,
) -> dict[str, float]:
    name = f"hookline_bench_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    database_url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    procs: list[Any] = []
    try:
        receiver, port = await spawn_listening([sys.executable, "-m", "bench.receiver"])
        procs.append(receiver)
        hookline, url = await _start_hookline(
            f"{database_url}/{name}", args.mode, workers, sender, extra_env
        )
        procs.extend(hookline)
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            rx = Receiver(http, port)
            key, secret = await _tenant(http, url, f"{rx.base}/hook")
            async with http.put(f"{rx.base}/secret", data=secret.encode()):
                pass
            warm = 500  # connections, prepared statements, the first claims
            await _post(http, url, key, "/v1/events/batch", {
                "events": [ingest_event(i) for i in range(warm)]
            })  # fmt: skip
            await rx.wait_for(warm)
            await rx.reset()
            return await _measure(http, url, key, rx, args)
    finally:
        for proc in reversed(procs):
            await terminate(proc)
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report(
    hook: dict[str, float],
    base: dict[str, float] | None,
    args: argparse.Namespace,
    workers: int,
    sender: str = "aiohttp",
) -> None:
    shape = f"{workers} worker process(es)" if args.mode == "worker" else "embedded dispatcher"
    shape += f", {sender}"
    print(
        f"\nHookline delivery ({shape}, PostgreSQL): N={args.events:,}, "
        f"{args.rate}/s for {args.seconds:.0f} s, {os.cpu_count()} CPUs"
    )
    rows: list[list[object]] = [
        ["batch ingest (1,000 per request)", hook["ingest_per_s"], "events/s"],
        ["end-to-end (first ingest -> last arrival)", hook["e2e_per_s"], "deliveries/s"],
        ["drain (first -> last arrival)", hook["drain_per_s"], "deliveries/s"],
        [
            f"p50 ingest->arrival @ {args.rate}/s ({args.latency_batch}/request)",
            hook["p50_ms"],
            "ms",
        ],
        [
            f"p99 ingest->arrival @ {args.rate}/s ({args.latency_batch}/request)",
            hook["p99_ms"],
            "ms",
        ],
        ["max ingest->arrival", hook["max_ms"], "ms"],
    ]
    if base is not None:
        ratio = hook["e2e_per_s"] / base["e2e_per_s"]
        rows += [
            ["Celery baseline end-to-end", base["e2e_per_s"], "deliveries/s"],
            [f"Celery baseline p99 @ {args.rate}/s", base["p99_ms"], "ms"],
            ["ratio (end-to-end, Hookline / Celery)", ratio, "x"],
        ]
    print_table(["figure", "value", "unit"], rows)
    verdicts = [f"p99 < 50 ms {'OK' if hook['p99_ms'] < 50 else 'MISSED'}"]
    if base is not None:
        ok = hook["e2e_per_s"] >= 10 * base["e2e_per_s"]
        verdicts.append(f"end-to-end >= 10x baseline {'OK' if ok else 'MISSED'}")
    print("targets: " + "; ".join(verdicts))


async def main_async(args: argparse.Namespace) -> None:
    counts = [int(w) for w in args.workers.split(",")] if args.mode == "worker" else [0]
    senders = args.sender.split(",")
    if args.mode == "embedded" and senders != ["aiohttp"]:
        raise SystemExit("--sender pyreqwest needs --mode worker (the API process is aiohttp's)")
    runs = [
        (w, sender, await run_hookline(args, w, sender))
        for _ in range(args.repeat)
        for w in counts
        for sender in senders
    ]
    base = None
    if not args.no_baseline:
        from bench.celery_baseline import print_results, run_baseline

        base = await run_baseline(args.events, args.rate, args.seconds)
        print_results(base)
    for workers, sender, hook in runs:
        _report(hook, base, args, workers, sender)
    if len(senders) > 1:
        _compare_senders(runs, senders)


def _compare_senders(runs: list[tuple[int, str, dict[str, float]]], senders: list[str]) -> None:
    """End-to-end per sender and worker count, every repeat, and the ratio of medians."""
    first = senders[0]
    rows: list[list[object]] = []
    for workers in sorted({w for w, _, _ in runs}):
        e2e = {s: [h["e2e_per_s"] for w, t, h in runs if w == workers and t == s] for s in senders}
        for sender in senders:
            figures = ", ".join(f"{v:,.0f}" for v in e2e[sender])
            ratio = statistics.median(e2e[sender]) / statistics.median(e2e[first])
            rows.append([workers, sender, figures, ratio])
    print(f"\nend-to-end deliveries/s by sender (ratio of medians vs {first}, same run)")
    print_table(["workers", "sender", "runs", "ratio"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_delivery", description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument(
        "--latency-batch",
        type=int,
        default=1,
        help="events per ingest request in the latency phase (1 = single-event requests)",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=("worker", "embedded"), default="worker")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="worker processes in worker mode; a comma-separated list runs each in turn",
    )
    parser.add_argument("--no-baseline", action="store_true", help="Hookline figures only")
    parser.add_argument(
        "--sender",
        default="aiohttp",
        help="outbound client of the workers: aiohttp, pyreqwest, or both comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every configuration N times")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 events, 3 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.seconds = 2_000, 3.0
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
