"""A fast loopback webhook receiver for benchmarks (aiohttp on uvloop).

Every POST is answered 200 at once after stamping its arrival; the benchmark reads
counts and latencies back over HTTP, so the receiver can live in its own process and
never share a CPU-bound event loop with the sender being measured. Paths starting
`/slow` answer after two seconds and `/fail` answer 500 (the isolation benchmark's
endpoints in trouble); they are only counted as `troubled`.

Run: python -m bench.receiver [--port 0]   (prints `LISTENING <port>` first)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

try:
    import orjson

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - orjson is a dev dependency
    import json

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)

    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode()


_SENT_KEYS = ("sentNs", "bench_sent_ns")
SLOW_SECONDS = 2.0


@dataclass
class ReceiverState:
    """What the receiver has seen since the last reset."""

    secret: bytes | None = None
    count: int = 0
    ids: set[str] = field(default_factory=set)
    first_ns: int = 0
    last_ns: int = 0
    bad_signatures: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    troubled: int = 0  # requests to /slow… and /fail… (not in the figures above)

    def reset(self) -> None:
        self.troubled = 0
        self.count = 0
        self.ids = set()
        self.first_ns = self.last_ns = 0
        self.bad_signatures = 0
        self.latencies_ns = []

    def stats(self) -> dict[str, int]:
        return {
            "count": self.count,
            "unique": len(self.ids),
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "bad_signatures": self.bad_signatures,
            "troubled": self.troubled,
        }


def sent_ns_of(body: Any) -> int | None:
    """The sender's stamp: at the body's top level or the top of `data` (object or [0])."""
    if not isinstance(body, dict):
        return None
    holders: list[Any] = [body]
    data = body.get("data")
    holders.append(data[0] if isinstance(data, list) and data else data)
    for holder in holders:
        if isinstance(holder, dict):
            for key in _SENT_KEYS:
                value = holder.get(key)
                if isinstance(value, int | str) and str(value).isdigit():
                    return int(value)
    return None


def _signature_ok(secret: bytes, request: web.Request, raw: bytes) -> bool:
    ts = request.headers.get("x-webhook-timestamp", "").encode()
    expected = hmac.new(secret, ts + b"." + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers.get("x-webhook-signature", ""))


def build_app(state: ReceiverState) -> web.Application:
    """The receiver's routes over one shared state object."""

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        # Endpoints in trouble, for the isolation benchmark: /slow… answers after
        # SLOW_SECONDS, /fail… answers 500 at once; neither counts in the figures.
        if request.path.startswith("/slow"):
            state.troubled += 1
            await asyncio.sleep(SLOW_SECONDS)
            return web.Response(status=200)
        if request.path.startswith("/fail"):
            state.troubled += 1
            return web.Response(status=500)
        arrived = time.time_ns()
        state.count += 1
        if not state.first_ns:
            state.first_ns = arrived
        state.last_ns = arrived
        if state.secret is not None and not _signature_ok(state.secret, request, raw):
            state.bad_signatures += 1
        try:
            body = _loads(raw)
        except ValueError:
            body = None
        delivery_id = request.headers.get("x-webhook-id")
        if delivery_id is None and isinstance(body, dict):
            delivery_id = str(body.get("eventId"))
        state.ids.add(delivery_id or f"anon-{state.count}")
        sent = sent_ns_of(body)
        if sent is not None:
            state.latencies_ns.append(arrived - sent)
        return web.Response(status=200)

    async def get_stats(_: web.Request) -> web.Response:
        return web.Response(body=_dumps(state.stats()), content_type="application/json")

    async def reset_stats(_: web.Request) -> web.Response:
        state.reset()
        return web.Response(body=_dumps(state.stats()), content_type="application/json")

    async def get_latencies(_: web.Request) -> web.Response:
        return web.Response(body=_dumps(state.latencies_ns), content_type="application/json")

    async def put_secret(request: web.Request) -> web.Response:
        # The webhook secret is minted by the service after the receiver's URL is known.
        raw = (await request.read()).strip()
        state.secret = raw or None
        return web.Response(status=204)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/stats", get_stats)
    app.router.add_delete("/stats", reset_stats)
    app.router.add_get("/latencies", get_latencies)
    app.router.add_put("/secret", put_secret)
    app.router.add_post("/{tail:.*}", hook)
    return app


async def start_receiver(
    port: int = 0, secret: str | None = None
) -> tuple[web.AppRunner, int, ReceiverState]:
    """Start the receiver on 127.0.0.1 in the running loop; cleanup with runner.cleanup()."""
    state = ReceiverState(secret=secret.encode() if secret else None)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = int(runner.addresses[0][1])
    return runner, bound, state


async def _serve(port: int, secret: str | None) -> None:
    runner, bound, _ = await start_receiver(port, secret)
    print(f"LISTENING {bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--secret", default=os.environ.get("BENCH_SECRET"))
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(_serve(args.port, args.secret))
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency here
        asyncio.run(_serve(args.port, args.secret))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
