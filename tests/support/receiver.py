"""The test receiver: a real webhook endpoint on 127.0.0.1:0 whose answers the test scripts.

Each request is answered by, in order of precedence: the next scripted `Reply`
(`then(...)`), the `behaviour` callable (which sees the request and may be async, or wait
forever: a hanging endpoint), or the default reply. A reply's delay is a slow endpoint.
Every request is recorded with its path (and query), headers, raw body and arrival time.

    async with Receiver() as receiver:              # or Receiver(default=Reply(500))
        url = receiver.url()                        # http://127.0.0.1:<port>/hook
    async with http_receiver(lambda r: Reply(503)) as receiver: ...

`status_receiver(status)` runs a receiver answering every POST with one status in a
child process (`python -m tests.support.receiver STATUS`), for floods whose work must
not be charged to the test's event loop.
"""

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str  # with the query string when there is one
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    def signature_ok(self, secret: str) -> bool:
        timestamp = self.headers["x-webhook-timestamp"]
        expected = hmac.new(
            secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, self.headers["x-webhook-signature"])


Behaviour = Callable[[Received], Reply | Awaitable[Reply]]


class Receiver:
    def __init__(self, default: Reply | None = None, *, behaviour: Behaviour | None = None) -> None:
        self.default = default or Reply()
        self.behaviour = behaviour
        self.script: deque[Reply] = deque()
        self.requests: list[Received] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def then(self, *replies: Reply) -> "Receiver":
        self.script.extend(replies)
        return self

    async def _reply(self, received: Received) -> Reply:
        if self.script:
            return self.script.popleft()
        if self.behaviour is not None:
            reply = self.behaviour(received)
            return await reply if isinstance(reply, Awaitable) else reply
        return self.default

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(
            request.path_qs, dict(request.headers.items()), await request.read(), time.monotonic()
        )
        async with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
        reply = await self._reply(received)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(status=reply.status, headers=reply.headers, body=body)

    async def start(self) -> "Receiver":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` requests arrived; fails the test on timeout."""
        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    async def __aenter__(self) -> "Receiver":
        return await self.start()

    async def __aexit__(self, *_: Any) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def http_receiver(behaviour: Behaviour | None = None) -> AsyncIterator[Receiver]:
    """A receiver whose every answer comes from `behaviour` (default: 200 `ok`)."""
    async with Receiver(behaviour=behaviour) as receiver:
        yield receiver


# -- a fixed-status receiver in its own process -------------------------------------------


def _status_app(status: int) -> web.Application:
    answered = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal answered
        await request.read()
        answered += 1
        return web.Response(status=status, text="down")

    async def count(_: web.Request) -> web.Response:
        return web.json_response(answered)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    app.router.add_get("/count", count)
    return app


async def _serve_status(status: int) -> None:
    runner = web.AppRunner(_status_app(status), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"LISTENING {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


class StatusReceiver:
    def __init__(self, port: int, http: aiohttp.ClientSession) -> None:
        self.port, self._http = port, http

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def count(self) -> int:
        """How many POSTs it has answered."""
        async with self._http.get(f"http://127.0.0.1:{self.port}/count") as response:
            answered: int = await response.json()
            return answered


@contextlib.asynccontextmanager
async def status_receiver(status: int) -> AsyncIterator[StatusReceiver]:
    """The receiver process for the block; killed at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.receiver", str(status),
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        words = line.split()
        assert len(words) == 2 and words[0] == b"LISTENING", line
        async with aiohttp.ClientSession() as http:
            yield StatusReceiver(int(words[1]), http)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="receiver", description="answer every POST with STATUS")
    parser.add_argument("status", type=int)
    asyncio.run(_serve_status(parser.parse_args().status))
