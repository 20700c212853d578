"""A real HTTP receiver on 127.0.0.1:0 whose behaviour tests script per request.

Each request is recorded (headers, raw body, arrival time); the answer comes from the
`behaviour` callable, which can return a status, headers and body or hang.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float


@dataclass
class Reply:
    status: int = 200
    body: str = '{"received":true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Behaviour = Callable[[Received], Reply | Awaitable[Reply]]


@dataclass
class Receiver:
    url: str
    requests: list[Received]
    behaviour: Behaviour

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")
            await asyncio.sleep(0.01)
        return self.requests


@asynccontextmanager
async def http_receiver(behaviour: Behaviour | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver("", [], behaviour or (lambda _: Reply()))

    async def handle(request: web.Request) -> web.StreamResponse:
        received = Received(
            request.path_qs, dict(request.headers), await request.read(), time.monotonic()
        )
        receiver.requests.append(received)
        reply: Any = receiver.behaviour(received)
        if asyncio.iscoroutine(reply):
            reply = await reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
