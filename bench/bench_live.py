"""Live feed benchmark: 500 browsers of one reseller, events ingested at a fixed rate.

One Hookline server process (`python -m app serve`, SQLite, dispatcher off so only
ingest and the feed compete for the CPU) and N client processes, each holding its
share of websocket clients (`--client raw`: Socket.IO frames read directly, the
default, so the clients leave the CPU to the server; `--client socketio`:
python-socketio AsyncClients), all with `auth: {token}`.
  (a) ingest throughput without any client: closed loop, C concurrent POST /v1/events;
  (b) latency: events at a fixed rate carry their send time (`sentNs`); every client
      records receive - send for every event: p50/p99 over all clients;
  (c) ingest throughput again with all clients connected (and receiving).
Targets (issue 5): p99 < 250 ms; (c) >= 80 % of (a).

Run: python -m bench.bench_live [--quick] [--clients 500] [--rate 10] [--seconds 10]
         [--client raw|socketio]
         [--database-url postgresql+asyncpg://…/empty_db] [--concurrency N]
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
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    APP_EVENT,
    bench_env,
    ingest_event,
    latency_summary_ms,
    now_ns,
    paced,
    print_table,
    spawn,
    terminate,
)

ADMIN_TOKEN = "bench-admin-token-0123456789"
CONNECT_BATCH = 25


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start_server(
    state: Path, database_url: str | None
) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    env = bench_env(
        {
            "HOOKLINE_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{state / 'bench.db'}",
            "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
            "HOOKLINE_DISPATCHER": "off",
            "HOOKLINE_LOG_LEVEL": "warning",
            "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        }
    )
    proc = await spawn(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return proc, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    await terminate(proc)
    raise RuntimeError("the server did not become healthy")


async def _tenant(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    """A reseller, an organisation and a webhook on the app-tracking type."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with http.post(f"{url}/v1/admin/resellers", json={"name": "Bench"}, headers=admin) as r:
        api_key = (await r.json())["apiKey"]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with http.post(f"{url}/v1/organisations", json={"name": "Org"}, headers=headers) as r:
        ingest_key = (await r.json())["ingestKey"]
    webhook = {"name": "Bench", "url": "https://hooks.example.com/bench", "events": [APP_EVENT]}
    async with http.post(f"{url}/v1/webhooks", json=webhook, headers=headers) as r:
        assert r.status == 201, await r.text()
    return api_key, ingest_key


async def _post(http: aiohttp.ClientSession, url: str, key: str, body: dict[str, Any]) -> bool:
    """One ingest request; False (not an exception) when it was refused or failed."""
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with http.post(f"{url}/v1/events", json=body, headers=headers) as response:
            await response.read()
            return response.status == 202
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _throughput(url: str, key: str, seconds: float, concurrency: int) -> float:
    """Accepted events per second, closed loop with `concurrency` requests in flight."""
    accepted = 0
    counter = iter(range(10**9))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal accepted
            while time.monotonic() < deadline:
                ok = await _post(http, url, key, ingest_event(next(counter)))
                accepted += ok  # not `+= await`: that reads the count before awaiting

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return accepted / (time.monotonic() - start)


async def _fixed_rate(url: str, key: str, rate: float, seconds: float) -> dict[str, float]:
    accepted = 0
    async with aiohttp.ClientSession() as http:

        async def fire(i: int) -> None:
            nonlocal accepted
            ok = await _post(http, url, key, ingest_event(i, now_ns()))
            accepted += ok  # not `+= await`: that reads the count before awaiting

        result = await paced(rate, seconds, fire)
    return {**result, "accepted": float(accepted)}


# -- client processes ----------------------------------------------------------------------


async def _client_worker(url: str, token: str, count: int, kind: str) -> None:
    """Hold `count` connections; on STOP (stdin) print the latencies seen."""
    if kind == "socketio":
        await _socketio_clients(url, token, count)
    else:
        await _raw_clients(url, token, count)


async def _socketio_clients(url: str, token: str, count: int) -> None:
    """python-socketio AsyncClients: the reference client, but ~150 us of CPU a message,
    which on a 2-core machine is taken from the server being measured."""
    import socketio

    latencies: list[int] = []
    received = 0

    async def on_event(message: dict[str, Any]) -> None:
        nonlocal received
        arrived = time.time_ns()
        received += 1
        sent = message["payload"]["data"][0].get("sentNs")
        if sent is not None:
            latencies.append(arrived - int(sent))

    clients = [socketio.AsyncClient(reconnection=False) for _ in range(count)]
    for client in clients:
        client.on("desktop_event", on_event)
    for start in range(0, count, CONNECT_BATCH):
        await asyncio.gather(
            *(
                c.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
                for c in clients[start : start + CONNECT_BATCH]
            )
        )
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    connected = sum(c.connected for c in clients)
    _print_result(latencies, received, connected)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


async def _raw_clients(url: str, token: str, count: int) -> None:
    """Socket.IO v5 over Engine.IO v4 websockets, spoken directly: open, CONNECT with
    `auth`, answer pings, stamp each `desktop_event` frame on arrival and read only its
    `sentNs`. The same frames as a browser gets, at a tenth of the client CPU."""
    latencies: list[int] = []
    received = 0
    connected = 0
    endpoint = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    hello = "40" + json.dumps({"token": token})

    async def hold(ws: aiohttp.ClientWebSocketResponse, ready: asyncio.Future[None]) -> None:
        nonlocal received, connected
        async for frame in ws:
            data = frame.data
            if not isinstance(data, str):
                continue
            if data.startswith('42["desktop_event"'):
                arrived = time.time_ns()
                received += 1
                at = data.find('"sentNs"')
                if at >= 0:
                    opening = data.index('"', at + 8) + 1  # the value is a string of digits
                    latencies.append(arrived - int(data[opening : data.index('"', opening)]))
            elif data == "2":
                await ws.send_str("3")  # Engine.IO heartbeat
            elif data[0] == "0":
                await ws.send_str(hello)  # Engine.IO open: connect the namespace
            elif data.startswith("40"):
                connected += 1
                ready.set_result(None)
            elif data.startswith("44"):
                ready.set_exception(RuntimeError(f"refused: {data}"))
                return
        if connected:
            connected -= 1  # closed by the server

    unlimited = aiohttp.TCPConnector(limit=0)  # the default pool stops at 100 sockets
    async with aiohttp.ClientSession(connector=unlimited) as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        tasks = []
        loop = asyncio.get_running_loop()
        for start in range(0, count, CONNECT_BATCH):
            batch = [
                await http.ws_connect(endpoint)
                for _ in range(start, min(count, start + CONNECT_BATCH))
            ]
            readies = [loop.create_future() for _ in batch]
            tasks += [
                asyncio.create_task(hold(ws, r)) for ws, r in zip(batch, readies, strict=True)
            ]
            sockets += batch
            await asyncio.wait_for(asyncio.gather(*readies), 30)
        print("READY", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        _print_result(latencies, received, connected)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in tasks:
            task.cancel()


def _print_result(latencies: list[int], received: int, connected: int) -> None:
    print(
        "RESULT "
        + json.dumps({"latencies": latencies, "received": received, "connected": connected}),
        flush=True,
    )


async def _start_clients(
    url: str, token: str, clients: int, processes: int, kind: str
) -> list[asyncio.subprocess.Process]:
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    procs = []
    for share in shares:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_live",
            "--client-worker",
            url,
            token,
            str(share),
            kind,
            env=bench_env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=1 << 28,  # the RESULT line carries every latency
        )
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 180)
        if line.strip() != b"READY":
            raise RuntimeError(f"client process failed to connect: {line!r}")
    return procs


async def _stop_clients(procs: list[asyncio.subprocess.Process]) -> dict[str, Any]:
    latencies: list[int] = []
    received = connected = 0
    for proc in procs:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(b"STOP\n")
        await proc.stdin.drain()
        while not (line := await asyncio.wait_for(proc.stdout.readline(), 120)).startswith(
            b"RESULT "
        ):
            if not line:
                raise RuntimeError("client process exited without a result")
        result = json.loads(line[len(b"RESULT ") :])
        latencies += result["latencies"]
        received += result["received"]
        connected += result["connected"]
    for proc in procs:
        await terminate(proc)
    return {"latencies": latencies, "received": received, "connected": connected}


async def _dropped(url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("hookline_live_messages_dropped_total "):
                return float(line.split()[1])
    return 0.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hookline-bench-live-") as tmp:
        server, url = await _start_server(Path(tmp), args.database_url)
        procs: list[asyncio.subprocess.Process] = []
        try:
            async with aiohttp.ClientSession() as http:
                api_key, ingest_key = await _tenant(http, url)
            await _throughput(url, ingest_key, 1.0, args.concurrency)  # warm-up
            alone = await _throughput(url, ingest_key, args.throughput_seconds, args.concurrency)
            procs = await _start_clients(
                url, api_key, args.clients, args.client_processes, args.client
            )
            pacing = await _fixed_rate(url, ingest_key, args.rate, args.seconds)
            await asyncio.sleep(2.0)  # let the last events reach every client
            latency = await _stop_clients(procs)
            procs = await _start_clients(
                url, api_key, args.clients, args.client_processes, args.client
            )
            loaded = await _throughput(url, ingest_key, args.throughput_seconds, args.concurrency)
            after = await _stop_clients(procs)
            procs = []
            dropped = await _dropped(url)
        finally:
            for proc in procs:
                await terminate(proc)
            await terminate(server)
    expected = int(pacing["accepted"]) * args.clients
    summary = latency_summary_ms(latency["latencies"])
    return {
        "clients": args.clients,
        "connected": latency["connected"],
        "events": int(args.rate * args.seconds),
        "accepted": int(pacing["accepted"]),
        "deliveries_expected": expected,
        "deliveries_received": len(latency["latencies"]),
        **summary,
        "worst_late_ms": pacing["worst_late_ms"],
        "throughput_alone": alone,
        "throughput_with_clients": loaded,
        "throughput_ratio": loaded / alone if alone else float("nan"),
        "received_during_loaded": after["received"],
        "dropped_total": dropped,
    }


def _report(result: dict[str, Any]) -> None:
    print(
        f"\nLive feed: {result['clients']} clients of one reseller "
        f"({result['connected']} connected at the end of the latency phase)"
    )
    print_table(
        ["measure", "value"],
        [
            [
                "events at fixed rate (sent / accepted)",
                f"{result['events']} / {result['accepted']}",
            ],
            [
                "deliveries received / expected",
                f"{result['deliveries_received']:,} / {result['deliveries_expected']:,}",
            ],
            ["ingest->receive p50 (ms)", result["p50_ms"]],
            ["ingest->receive p99 (ms)", result["p99_ms"]],
            ["ingest->receive max (ms)", result["max_ms"]],
            ["ingest throughput, no clients (ev/s)", result["throughput_alone"]],
            ["ingest throughput, clients connected (ev/s)", result["throughput_with_clients"]],
            ["ratio with/without", f"{result['throughput_ratio']:.0%}"],
            ["live messages dropped (server total)", result["dropped_total"]],
        ],
    )
    ok_latency = result["p99_ms"] < 250
    ok_ratio = result["throughput_ratio"] >= 0.8
    print(
        f"targets: p99 < 250 ms {'OK' if ok_latency else 'MISSED'}; "
        f"throughput >= 80% {'OK' if ok_ratio else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client-worker"]:
        url, token, count, kind = argv[1], argv[2], int(argv[3]), argv[4]
        _use_uvloop()
        asyncio.run(_client_worker(url, token, count, kind))
        return
    parser = argparse.ArgumentParser(prog="bench.bench_live", description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--client",
        choices=("raw", "socketio"),
        default="raw",
        help="raw: Socket.IO frames over aiohttp websockets (cheap); socketio: python-socketio",
    )
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--throughput-seconds", type=float, default=5.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="ingest requests in flight for throughput (default: 1 on SQLite, 8 otherwise)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty database (migrated on start); default: a fresh SQLite file",
    )
    parser.add_argument("--quick", action="store_true", help="100 clients, 5 s: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.throughput_seconds = 100, 5.0, 3.0
    if args.concurrency is None:
        sqlite = args.database_url is None or args.database_url.startswith("sqlite")
        args.concurrency = 1 if sqlite else 8
    _use_uvloop()
    _report(asyncio.run(run(args)))


def _use_uvloop() -> None:
    if os.name != "nt":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    main()
