"""What OpenTelemetry tracing costs end to end: the delivery benchmark, tracing off and on.

The phases of bench.bench_delivery (PostgreSQL, `python -m app serve` with its
dispatcher off, `python -m app worker` processes, the loopback receiver): N events by
batch ingest, end-to-end = N / (first ingest request -> last arrival), then single-event
requests at a fixed rate for p50/p99 ingest -> arrival. Three modes, alternating (off,
recorded, otlp, off, ... `--repeat` times, each on a fresh database), with the ratio of
medians to "off":
- off: HOOKLINE_OTEL_ENDPOINT unset;
- recorded: the endpoint set, and the OTLP exporter replaced by one that drops each batch
  (`bench/otel_discard/sitecustomize.py`): every span created, with its attributes and
  links, through the batch span processor; no encoding. The issue's "in-memory exporter"
  figure, and its target: at most 5 % slower;
- otlp: the production path, the endpoint a no-op OTLP/HTTP collector on loopback (this
  script with `--collector`, its own process): the exporter's protobuf encoding and POSTs
  included;
- otlp-10%: the same with the SDK's sampler at a tenth (`OTEL_TRACES_SAMPLER=
  parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`).
The CPU seconds of the run's processes (receiver, API, workers) are printed too, and a
drain of N pre-loaded events by one worker (stopped until the load is in): its deliveries/s
and its CPU per delivery, start-up excluded. On a machine shared with other work, CPU per
delivery varies far less than throughput does.

Run: python -m bench.bench_tracing [--quick] [--repeat 2] [-n 10000] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.bench_delivery import (
    PG_ADMIN,
    Receiver,
    _admin_sql,
    _spawn_worker,
    _start_hookline,
    _tenant,
    run_hookline,
)
from bench.bench_scaleout import _load
from bench.common import REPO_ROOT, bench_env, print_table, spawn_listening, terminate

MODES = ("off", "recorded", "otlp", "otlp-10%")


def _collector(port: int) -> None:
    """A collector that reads every export and drops it; counts requests and bytes."""
    stats = {"requests": 0, "bytes": 0}

    async def traces(request: web.Request) -> web.Response:
        stats["requests"] += 1
        stats["bytes"] += len(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def read_stats(_: web.Request) -> web.Response:
        return web.json_response(stats)

    async def main() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", traces)
        app.router.add_get("/stats", read_stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print(f"LISTENING {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    import uvloop

    uvloop.run(main())


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(args: argparse.Namespace, environment: dict[str, str] | None) -> dict[str, float]:
    """The worker alone: N events pre-loaded (the API traced as the worker is), then one
    worker, stopped until then, drains them; its CPU from SIGCONT to the last arrival is
    what each delivery costs it (start-up excluded), the measure least moved by whatever
    else runs on the machine."""
    name = f"hookline_tracing_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    database_url = f"{base}/{name}"
    procs: list[Any] = []
    try:
        receiver, port = await spawn_listening([sys.executable, "-m", "bench.receiver"])
        procs.append(receiver)
        api, url = await _start_hookline(database_url, "api", 0, extra_env=environment)
        procs.extend(api)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            rx = Receiver(http, port)
            key, secret = await _tenant(http, url, f"{rx.base}/hook")
            async with http.put(f"{rx.base}/secret", data=secret.encode()):
                pass
            env = {
                "HOOKLINE_DATABASE_URL": database_url,
                "HOOKLINE_AUTO_MIGRATE": "false",
                "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
                "HOOKLINE_LOG_LEVEL": "warning",
                **(environment or {}),
            }
            worker, _ = await _spawn_worker(bench_env(env))
            procs.append(worker)
            worker.send_signal(signal.SIGSTOP)
            try:
                await _load(http, url, key, 0, args.events)
                cpu, started = _process_cpu(worker.pid), time.time_ns()
            finally:
                worker.send_signal(signal.SIGCONT)
            stats = await rx.wait_for(args.events)
            used = _process_cpu(worker.pid) - cpu
        if stats["unique"] != args.events or stats["bad_signatures"]:
            raise RuntimeError(f"duplicates or bad signatures: {stats}")
        return {
            "drain_per_s": args.events / ((stats["last_ns"] - started) / 1e9),
            "worker_us": used / args.events * 1e6,
        }
    finally:
        for proc in reversed(procs):
            await terminate(proc)
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _children_cpu() -> float:
    """CPU seconds (user + system) of this script's finished children: the receiver and
    every Hookline process of a run, start-up and warm-up included (PostgreSQL not). On a
    machine shared with other work this varies far less than throughput does."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _exported(port: int) -> dict[str, int]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/stats") as response,
    ):
        stats: dict[str, int] = await response.json()
        return stats


async def main_async(args: argparse.Namespace) -> None:
    command = [sys.executable, "-m", "bench.bench_tracing", "--collector"]
    collector, port = await spawn_listening(command)
    endpoint = {"HOOKLINE_OTEL_ENDPOINT": f"http://127.0.0.1:{port}"}
    discard = os.pathsep.join((str(REPO_ROOT / "bench" / "otel_discard"), str(REPO_ROOT)))
    environments: dict[str, dict[str, str] | None] = {
        "off": None,
        "recorded": {**endpoint, "PYTHONPATH": discard},
        "otlp": endpoint,
        # The SDK's own sampler settings: a tenth of the ingest requests are traced, and
        # their attempts follow the stored context's sampled flag.
        "otlp-10%": {
            **endpoint,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    }
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    exported: list[dict[str, int]] = []
    try:
        for _ in range(args.repeat):
            for mode in MODES:
                before = await _exported(port)
                cpu = _children_cpu()
                result = await run_hookline(args, args.workers, extra_env=environments[mode])
                result["cpu_s"] = _children_cpu() - cpu
                result.update(await drain(args, environments[mode]))
                after = await _exported(port)
                if mode.startswith("otlp"):
                    exported.append({k: after[k] - before[k] for k in after})
                    if not exported[-1]["requests"]:
                        raise RuntimeError("nothing reached the collector with tracing on")
                elif after != before:
                    raise RuntimeError(f"spans reached the collector in mode {mode}")
                runs[mode].append(result)
    finally:
        await terminate(collector)
    _report(args, runs, exported)


def _report(
    args: argparse.Namespace,
    runs: dict[str, list[dict[str, float]]],
    exported: list[dict[str, int]],
) -> None:
    print(
        f"\nTracing off vs on ({args.workers} worker process(es), PostgreSQL): "
        f"N={args.events:,}, {args.rate}/s single-event requests for {args.seconds:.0f} s, "
        f"{args.repeat} alternating run(s) of each mode, {os.cpu_count()} CPUs"
    )
    rows: list[list[Any]] = []
    figures = (
        ("e2e_per_s", "end-to-end deliveries/s"),
        ("p50_ms", "p50 ingest->arrival ms"),
        ("p99_ms", "p99 ingest->arrival ms"),
        ("cpu_s", "CPU s of the run's processes"),
        ("drain_per_s", "drain deliveries/s, 1 worker"),
        ("worker_us", "worker CPU per delivery, us"),
    )
    ratios: dict[str, float] = {}
    for key, label in figures:
        off = statistics.median(r[key] for r in runs["off"])
        for mode in MODES:
            values = [r[key] for r in runs[mode]]
            ratio = statistics.median(values) / off
            if key == "e2e_per_s":
                ratios[mode] = ratio
            rows.append([label, mode, ", ".join(f"{v:,.1f}" for v in values), ratio])
    print_table(["figure", "mode", "runs", "/ off (medians)"], rows)
    for run in exported:
        print(f"otlp mode: {run['requests']:,} OTLP requests, {run['bytes']:,} bytes")
    for mode in MODES[1:]:
        slower = (1 - ratios[mode]) * 100
        verdict = "OK" if ratios[mode] >= 0.95 else "MISSED"
        print(f"{mode}: end-to-end {slower:+.1f} % slower than off (target 5 %: {verdict})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_tracing", description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the three modes")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 events, 2 s, once")
    parser.add_argument("--collector", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.collector:
        _collector(0)
        return
    if args.quick:
        args.events, args.seconds, args.repeat = 2_000, 2.0, 1
    # What bench_delivery's phases read from its own arguments.
    args.mode, args.latency_batch = "worker", 1
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
