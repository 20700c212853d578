"""Ingest benchmark: single-event requests/s and latency, batch events/s, and what the
database and Celery do on their own, measured in one run.

For each database (PostgreSQL, SQLite) one `python -m app serve` of the shipped defaults
(HOOKLINE_DISPATCHER=off: the API process alone, as deployed with `worker` processes; a
webhook subscribed to the type, so every event also writes a delivery row), a fresh
database, then:
  (a) closed loop, C clients each with one keep-alive connection posting ~1 KiB
      single events (`POST /v1/events`) back to back: requests/s, p50, p99;
  (b) open loop at a fixed rate (1,000 requests/s): p50, p99;
  (c) batch ingest, 4 clients posting 1,000-event batches: events/s.
With `--baseline-tree DIR` (a `git worktree` of the commit to compare) the same runs
are made against that tree's server right after, and the ratios printed.
Then, on PostgreSQL with asyncpg: one event + one delivery per transaction (1 and 8
connections) and 500 events + deliveries per transaction (`unnest`); and Celery's
`apply_async` rate to Redis (DB 5, flushed), the baseline's enqueue.

The load generator speaks HTTP/1.1 over asyncio streams (a prepared request, a parsed
status line and Content-Length), so the clients cost the two cores as little as possible.

Run: python -m bench.bench_ingest [--quick] [--seconds 5] [--clients 1,16,64]
         [--databases postgres,sqlite] [--baseline-tree /tmp/base-ingest]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import (
    APP_EVENT,
    REPO_ROOT,
    bench_env,
    ingest_event,
    percentile,
    print_table,
    terminate,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
PG_ADMIN = os.environ.get("HOOKLINE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
RATE = 1000
BATCH_EVENTS = 1000
BATCH_CLIENTS = 4
REDIS_URL = "redis://127.0.0.1:6379/6"  # the live feed across `--api-workers` processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Connection:
    """One keep-alive HTTP/1.1 connection: send prepared bytes, read one response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, data: bytes) -> tuple[int, bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def post_bytes(path: str, key: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _event_body(i: int) -> bytes:
    return json.dumps(ingest_event(i), separators=(",", ":")).encode()


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    port: int
    ingest_key: str


async def _admin_sql(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _http_json(port: int, method: str, path: str, token: str, body: Any) -> Any:
    connection = await Connection.open(port)
    try:
        raw = json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n"
        )
        status, answer = await connection.request(head.encode() + raw)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer[:300]!r}")
        return json.loads(answer)
    finally:
        connection.close()


async def start_server(tree: Path, database_url: str, workers: int = 1) -> Server:
    port = _free_port()
    env = bench_env(
        {
            "HOOKLINE_DATABASE_URL": database_url,
            "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
            "HOOKLINE_DISPATCHER": "off",
        }
    )
    env["PYTHONPATH"] = str(tree)
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
        env["HOOKLINE_REDIS_URL"] = REDIS_URL
    # Started in the tree itself, so `python -m app` imports that tree's code.
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tree,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            connection = await Connection.open(port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        try:
            status, _ = await connection.request(b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n")
        finally:
            connection.close()
        if status == 200:
            break
        await asyncio.sleep(0.1)
    else:
        await terminate(proc)
        raise RuntimeError("the server did not become healthy")
    reseller = await _http_json(port, "POST", "/v1/admin/resellers", ADMIN_TOKEN, {"name": "B"})
    api_key = reseller["apiKey"]
    org = await _http_json(port, "POST", "/v1/organisations", api_key, {"name": "Org"})
    webhook = {"name": "Bench", "url": "https://hooks.example.com/bench", "events": [APP_EVENT]}
    await _http_json(port, "POST", "/v1/webhooks", api_key, webhook)
    return Server(proc, port, org["ingestKey"])


async def closed_loop(server: Server, clients: int, seconds: float) -> dict[str, float]:
    """C clients back to back; figures from the measured window after a 1 s warm-up."""
    requests = [post_bytes("/v1/events", server.ingest_key, _event_body(i)) for i in range(64)]
    latencies: list[float] = []
    failures = 0
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds
    start = clock() + 1.0
    stop = start + seconds

    async def client(n: int) -> None:
        nonlocal failures
        connection = await Connection.open(server.port)
        i = n
        try:
            while (now := clock()) < stop:
                status, _ = await connection.request(requests[i % len(requests)])
                i += clients
                done = clock()
                if done >= start:
                    latencies.append(done - now)
                    failures += status != 202
        finally:
            connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    ms = [v * 1000 for v in latencies]
    return {
        "rps": len(latencies) / seconds,
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "failed": float(failures),
    }


async def fixed_rate(server: Server, rate: int, seconds: float) -> dict[str, float]:
    """Open loop: one request every 1/rate s on a free connection (up to 256 opened)."""
    request = post_bytes("/v1/events", server.ingest_key, _event_body(7))
    idle: list[Connection] = [await Connection.open(server.port) for _ in range(32)]
    opened = len(idle)
    latencies: list[float] = []
    failures = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        nonlocal failures, opened
        if idle:
            connection = idle.pop()
        else:
            opened += 1
            connection = await Connection.open(server.port)
        status, _ = await connection.request(request)
        latencies.append(time.perf_counter() - due)  # from when it was due: queueing counts
        failures += status != 202
        idle.append(connection)

    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for connection in idle:
        connection.close()
    ms = [v * 1000 for v in latencies]
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "failed": float(failures),
    }


async def batches(server: Server, seconds: float) -> dict[str, float]:
    body = json.dumps(
        {"events": [ingest_event(i) for i in range(BATCH_EVENTS)]}, separators=(",", ":")
    ).encode()
    request = post_bytes("/v1/events/batch", server.ingest_key, body)
    loop = asyncio.get_running_loop()
    accepted = 0
    stop = loop.time() + seconds

    async def client() -> None:
        nonlocal accepted
        connection = await Connection.open(server.port)
        try:
            while loop.time() < stop:
                status, _ = await connection.request(request)
                accepted += BATCH_EVENTS if status == 202 else 0
        finally:
            connection.close()

    started = loop.time()
    await asyncio.gather(*(client() for _ in range(BATCH_CLIENTS)))
    return {"events_per_s": accepted / (loop.time() - started)}


async def measure_server(tree: Path, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="hl-bench-ingest-"))
    name = f"bench_ingest_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    if kind == "postgres":
        await _admin_sql(f'CREATE DATABASE "{name}"')
        database_url = _pg_url(name)
    else:
        database_url = f"sqlite+aiosqlite:///{state / 'bench.db'}"
    server = await start_server(tree, database_url, args.api_workers if tree == REPO_ROOT else 1)
    try:
        result: dict[str, Any] = {"levels": {}}
        for clients in args.clients:
            result["levels"][clients] = await closed_loop(server, clients, args.seconds)
        result["rate"] = await fixed_rate(server, RATE, args.seconds)
        result["batch"] = await batches(server, args.seconds)
        return result
    finally:
        await terminate(server.proc)
        if kind == "postgres":
            await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the database alone ------------------------------------------------------------------

_SETUP = """
CREATE TABLE e (id text PRIMARY KEY, org text, type text, body bytea, at timestamptz);
CREATE TABLE d (id text PRIMARY KEY, event_id text REFERENCES e(id), status text,
                at timestamptz);
"""


async def database_alone(seconds: float) -> dict[str, float]:
    name = f"bench_ingest_db_{os.getpid()}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    body = _event_body(1) * 1
    figures: dict[str, float] = {}
    try:
        pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
        async with pool.acquire() as connection:
            await connection.execute(_SETUP)
        counter = iter(range(10**9))

        async def single(stop: float) -> int:
            done = 0
            async with pool.acquire() as connection:
                while time.monotonic() < stop:
                    n = next(counter)
                    async with connection.transaction():
                        await connection.execute(
                            "INSERT INTO e VALUES ($1, 'o', 't', $2, now())", f"e{n}", body
                        )
                        await connection.execute(
                            "INSERT INTO d VALUES ($1, $2, 'pending', now())", f"d{n}", f"e{n}"
                        )
                    done += 1
            return done

        for connections in (1, 8):
            stop = time.monotonic() + seconds
            counts = await asyncio.gather(*(single(stop) for _ in range(connections)))
            figures[f"single_{connections}"] = sum(counts) / seconds

        async def batched(stop: float) -> int:
            done = 0
            async with pool.acquire() as connection:
                while time.monotonic() < stop:
                    ids = [f"b{next(counter)}" for _ in range(500)]
                    async with connection.transaction():
                        await connection.execute(
                            "INSERT INTO e SELECT i, 'o', 't', $2, now() FROM unnest($1::text[]) i",
                            ids,
                            body,
                        )
                        await connection.execute(
                            "INSERT INTO d SELECT 'd' || i, i, 'pending', now() "
                            "FROM unnest($1::text[]) i",
                            ids,
                        )
                    done += len(ids)
            return done

        stop = time.monotonic() + seconds
        figures["batched_500"] = (await batched(stop)) / seconds
        await pool.close()
    finally:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return figures


def celery_enqueue(n: int) -> float:
    """`apply_async` N times to Redis DB 5 (flushed before and after): tasks/s."""
    import redis

    from bench.celery_baseline import BROKER_URL, SECRET, deliver

    del SECRET
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    body = _event_body(1).decode()
    try:
        deliver.apply_async(args=("http://127.0.0.1:9/", body, "dlv_warm", APP_EVENT))
        started = time.perf_counter()
        for i in range(n):
            deliver.apply_async(args=("http://127.0.0.1:9/", body, f"dlv_{i}", APP_EVENT))
        return n / (time.perf_counter() - started)
    finally:
        client.flushdb()


# -- report --------------------------------------------------------------------------------


def _ratio(new: float, old: float | None) -> str:
    return f"{new / old:.1f}x" if old else "—"


def report(results: dict[str, dict[str, Any]], alone: dict[str, float], enqueue: float) -> None:
    print("\nSingle-event ingest, closed loop (requests/s, ms)")
    rows: list[list[object]] = []
    for kind, by_tree in results.items():
        new, old = by_tree["current"], by_tree.get("baseline")
        for clients, figures in new["levels"].items():
            base = old["levels"][clients] if old else None
            rows.append(
                [
                    kind,
                    clients,
                    figures["rps"],
                    figures["p50"],
                    figures["p99"],
                    int(figures["failed"]),
                    base["rps"] if base else "—",
                    base["p50"] if base else "—",
                    base["p99"] if base else "—",
                    _ratio(figures["rps"], base["rps"] if base else None),
                ]
            )
    print_table(
        [
            "db",
            "clients",
            "req/s",
            "p50",
            "p99",
            "non-202",
            "base req/s",
            "base p50",
            "base p99",
            "ratio",
        ],
        rows,
    )
    print(f"\nSingle-event ingest at a fixed {RATE:,} requests/s (ms from due time)")
    rows = []
    for kind, by_tree in results.items():
        new, old = by_tree["current"]["rate"], by_tree.get("baseline", {}).get("rate")
        rows.append(
            [
                kind,
                new["rps"],
                new["p50"],
                new["p99"],
                int(new["failed"]),
                old["rps"] if old else "—",
                old["p50"] if old else "—",
                old["p99"] if old else "—",
            ]
        )
    print_table(
        ["db", "req/s", "p50", "p99", "non-202", "base req/s", "base p50", "base p99"], rows
    )
    print(f"\nBatch ingest ({BATCH_CLIENTS} clients, {BATCH_EVENTS:,} events per request)")
    rows = []
    for kind, by_tree in results.items():
        new = by_tree["current"]["batch"]["events_per_s"]
        old = by_tree.get("baseline", {}).get("batch", {}).get("events_per_s")
        rows.append([kind, new, old if old else "—", _ratio(new, old)])
    print_table(["db", "events/s", "base events/s", "ratio"], rows)
    print("\nThe database and Celery alone (same run)")
    print_table(
        ["what", "per s"],
        [
            ["PostgreSQL, 1 event + 1 delivery per transaction, 1 connection", alone["single_1"]],
            ["PostgreSQL, the same, 8 connections", alone["single_8"]],
            ["PostgreSQL, 500 events + deliveries per transaction (unnest)", alone["batched_500"]],
            ["Celery apply_async to Redis (the baseline's enqueue)", enqueue],
        ],
    )


async def run(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, Any]] = {}
    for kind in args.databases:
        results[kind] = {"current": await measure_server(REPO_ROOT, kind, args)}
        if args.baseline_tree is not None:
            results[kind]["baseline"] = await measure_server(args.baseline_tree, kind, args)
    alone = await database_alone(max(1.0, args.seconds / 2))
    enqueue = await asyncio.to_thread(celery_enqueue, 2000 if args.quick else 5000)
    report(results, alone, enqueue)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--baseline-tree", type=Path, help="a worktree of the code to compare")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per measurement")
    parser.add_argument(
        "--api-workers",
        type=int,
        default=1,
        help="serve --workers N for the current tree (PostgreSQL only; Redis DB 6)",
    )
    args = parser.parse_args(argv)
    args.clients = [int(part) for part in args.clients.split(",")]
    args.databases = args.databases.split(",")
    if args.quick:
        args.seconds = 1.0
    import uvloop

    uvloop.run(run(args))


if __name__ == "__main__":
    main()
