"""Standard Webhooks receivers as real processes on 127.0.0.1: one on the npm
`standardwebhooks` package (Express, `express.json()`, tests/receivers/node/
standard_receiver.mjs) and one on the PyPI package (stdlib HTTP server, raw body,
tests/receivers/python/standard_receiver.py). Both speak the same protocol: endpoints by
name, each verifying with every one of its secrets on its own."""

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.node import (
    NODE_DIR,
    NodeUnavailable,
    _listening_port,
    _stop,
    ensure_node_modules,
)

PYTHON_RECEIVER = Path(__file__).resolve().parents[1] / "receivers" / "python"


@dataclass
class StandardReceiver:
    kind: str  # "node" or "python"
    base_url: str
    session: aiohttp.ClientSession

    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/hooks/{endpoint}"

    async def add_secret(self, endpoint: str, secret: str) -> None:
        """One more secret the endpoint verifies with (each on its own)."""
        body = {"name": endpoint, "secret": secret}
        async with self.session.post(f"{self.base_url}/secrets", json=body) as response:
            response.raise_for_status()

    async def records(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.base_url}/received") as response:
            response.raise_for_status()
            records: list[dict[str, Any]] = await response.json()
        return [r for r in records if endpoint is None or r["endpoint"] == endpoint]

    async def clear(self) -> None:
        async with self.session.delete(f"{self.base_url}/received") as response:
            response.raise_for_status()

    async def wait_for(self, endpoint: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Poll until `count` requests reached `endpoint` (bounded in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            records = await self.records(endpoint)
            if len(records) >= count or loop.time() > deadline:
                return records
            await asyncio.sleep(0.05)


@asynccontextmanager
async def standard_receiver(
    kind: str, startup_timeout: float = 15.0
) -> AsyncIterator[StandardReceiver]:
    """Run the `kind` receiver on an ephemeral loopback port for the block's duration."""
    if kind == "node":
        ensure_node_modules()
        command, cwd = ["node", "standard_receiver.mjs", "0"], NODE_DIR
    else:
        command, cwd = [sys.executable, "standard_receiver.py", "0"], PYTHON_RECEIVER
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=dict(os.environ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
        try:
            port = await asyncio.wait_for(_listening_port(process), startup_timeout)
            async with aiohttp.ClientSession() as session:
                yield StandardReceiver(kind, f"http://127.0.0.1:{port}", session)
        except (TimeoutError, NodeUnavailable) as exc:
            stderr.seek(0)
            raise NodeUnavailable(f"{kind} receiver: {exc!r}: {stderr.read()[-2000:]!r}") from exc
        finally:
            await _stop(process)
