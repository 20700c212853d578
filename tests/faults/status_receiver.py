"""A receiver in its own process that answers every POST with one fixed status.

The flood test's failing endpoint answers thousands of attempts; in the test's own
event loop that work would be charged to the dispatcher being measured.

Run: python -m tests.faults.status_receiver STATUS   (prints `LISTENING <port>` first;
`GET /count` returns how many POSTs it has answered)
"""

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from tests.faults.helpers import REPO


def build_app(status: int) -> web.Application:
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


async def _serve(status: int) -> None:
    runner = web.AppRunner(build_app(status), access_log=None)
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
        async with self._http.get(f"http://127.0.0.1:{self.port}/count") as response:
            answered: int = await response.json()
            return answered


@contextlib.asynccontextmanager
async def status_receiver(status: int) -> AsyncIterator[StatusReceiver]:
    """The receiver process for the block; killed at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.status_receiver", str(status),
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
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
    parser = argparse.ArgumentParser(prog="status_receiver")
    parser.add_argument("status", type=int)
    asyncio.run(_serve(parser.parse_args().status))
