"""The outbound client alone: aiohttp (the shipped session) against pyreqwest.

Both send through `post_signed` behind the network guard, from one process on uvloop,
to the same loopback receiver (bench.receiver, its own process): signed 1 KiB POSTs
(`delivery_headers`, a fresh timestamp and HMAC per request), C requests in flight.
The target is a name, `receiver.bench.test`, that a table resolver maps to 127.0.0.1,
so both clients take the guarded resolve path (pyreqwest: resolve, vet, pin).
`pyreqwest-raw` is for the record only: pyreqwest alone, no guard, no `post_signed`
(`client.post(url).send()` to 127.0.0.1, the body read whole), what the adapter costs.
CPU is the process's CPU time (every thread: pyreqwest's Tokio runtime included) over
the wall time, as a share of one core.

Run: python -m bench.bench_sender [-n 20000] [--in-flight 16,64] [--repeat 2]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import uvloop
from aiohttp.abc import AbstractResolver, ResolveResult
from pyreqwest.client import ClientBuilder

from app.egress.client import USER_AGENT, create_http_session
from app.egress.sender import AttemptKind, PostResult, post_signed
from app.wire.signature import delivery_headers
from bench.bench_delivery import Receiver
from bench.common import bench_env, envelope_body, print_table, spawn_listening, terminate
from bench.reqwest_sender import ReqwestSession
from bench.reqwest_sender import post_signed as reqwest_post_signed

HOST = "receiver.bench.test"
SECRET = "whsec_bench-sender-0123456789"
SENDERS = ("aiohttp", "pyreqwest", "pyreqwest-raw")


class LoopbackResolver(AbstractResolver):
    """`HOST` -> 127.0.0.1: the one answer this machine can give for a name."""

    async def resolve(
        self,
        host: str,
        port: int = 0,
        family: socket.AddressFamily = socket.AF_INET,  # noqa: ARG002 - one IPv4 answer
    ) -> list[ResolveResult]:
        if host != HOST:
            raise OSError(f"no such host {host}")
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


Send = Callable[[str, bytes, dict[str, str]], Awaitable[PostResult]]


async def _drive(send: Send, url: str, n: int, in_flight: int) -> dict[str, float]:
    bodies = [envelope_body(i) for i in range(256)]
    counter = iter(range(n))
    failures = 0

    async def lane() -> None:
        nonlocal failures
        for i in counter:
            body = bodies[i % len(bodies)]
            headers = delivery_headers(
                secret=SECRET,
                body=body,
                delivery_id=f"dlv_bench{i:012d}",
                event_type="desktop.app_tracking.captured",
                timestamp_ms=time.time_ns() // 1_000_000,
                user_agent=USER_AGENT,
            )
            result = await send(url, body, headers)
            failures += not result.delivered

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(in_flight)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if failures:
        raise RuntimeError(f"{failures} of {n} POSTs failed")
    return {"per_s": n / wall, "cpu_pct": 100 * cpu / wall}


async def _run_one(sender: str, url: str, n: int, in_flight: int) -> dict[str, float]:
    common: dict[str, Any] = {
        "timeout_seconds": 10.0,
        "allow_private": True,  # 127.0.0.1 is the only receiver this machine has
        "max_response_bytes": 4096,
    }
    if sender == "aiohttp":
        from app.config import Settings

        settings = Settings(database_url="sqlite+aiosqlite:///:memory:", allow_private_targets=True)
        async with create_http_session(settings, resolver=LoopbackResolver()) as http:

            async def send_aiohttp(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
                return await post_signed(http, url=url, body=body, headers=headers, **common)

            await _drive(send_aiohttp, url, 500, in_flight)  # warm: connections, caches
            return await _drive(send_aiohttp, url, n, in_flight)
    if sender == "pyreqwest-raw":
        async with ClientBuilder().follow_redirects(False).no_proxy().build() as raw:
            literal = url.replace(HOST, "127.0.0.1")
            limit = timedelta(seconds=common["timeout_seconds"])

            async def send_raw(_: str, body: bytes, headers: dict[str, str]) -> PostResult:
                request = raw.post(literal).headers(headers).body_bytes(body).timeout(limit)
                response = await request.build().send()
                await response.bytes()
                ok = 200 <= response.status < 300
                kind = AttemptKind.SUCCESS if ok else AttemptKind.HTTP_ERROR
                return PostResult(kind=kind, latency_ms=0, status=response.status)

            await _drive(send_raw, url, 500, in_flight)
            return await _drive(send_raw, url, n, in_flight)
    async with ReqwestSession(allow_private=True, resolver=LoopbackResolver()) as client:

        async def send_reqwest(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
            return await reqwest_post_signed(client, url=url, body=body, headers=headers, **common)

        await _drive(send_reqwest, url, 500, in_flight)
        return await _drive(send_reqwest, url, n, in_flight)


async def main_async(args: argparse.Namespace) -> None:
    receiver, port = await spawn_listening(
        [sys.executable, "-m", "bench.receiver"], env=bench_env({"BENCH_SECRET": SECRET})
    )
    try:
        async with aiohttp.ClientSession() as http:
            rx = Receiver(http, port)
            url = f"http://{HOST}:{port}/hook"
            figures: Figures = {}
            for _ in range(args.repeat):  # alternate, so drift in the machine hits both
                for in_flight in args.in_flight:
                    for sender in args.senders:
                        await rx.reset()
                        result = await _run_one(sender, url, args.n, in_flight)
                        stats = await rx.stats()
                        if stats["bad_signatures"]:
                            raise RuntimeError(f"bad signatures: {stats}")
                        figures.setdefault((sender, in_flight), []).append(result)
    finally:
        await terminate(receiver)
    _report(figures, args)


Figures = dict[tuple[str, int], list[dict[str, float]]]


def _report(figures: Figures, args: argparse.Namespace) -> None:
    print(f"\nsender alone: {args.n:,} signed 1 KiB POSTs per run, loopback receiver, uvloop")
    rows: list[list[object]] = []
    first = args.senders[0]
    for in_flight in args.in_flight:
        base = statistics.median(r["per_s"] for r in figures[(first, in_flight)])
        for sender in args.senders:
            runs = figures[(sender, in_flight)]
            per_s = [r["per_s"] for r in runs]
            rows.append(
                [
                    in_flight,
                    sender,
                    ", ".join(f"{v:,.0f}" for v in per_s),
                    ", ".join(f"{r['cpu_pct']:.0f}" for r in runs),
                    statistics.median(per_s) / base,
                ]
            )
    print_table(["in flight", "sender", "POSTs/s (runs)", "CPU % of a core", f"vs {first}"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_sender", description=__doc__)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--in-flight", type=lambda v: [int(x) for x in v.split(",")])
    parser.add_argument("--sender", dest="senders", type=lambda v: v.split(","))
    parser.add_argument("--repeat", type=int, default=2)
    parser.set_defaults(in_flight=[16, 64], senders=list(SENDERS))
    uvloop.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
