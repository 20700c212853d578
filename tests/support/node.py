"""Real Node.js in the tests: the seed's Express receiver and a JSON.stringify oracle.

Canonical JSON is only right if JavaScript agrees byte for byte, so the tests ask
JavaScript itself: `node_receiver` runs `tests/receivers/node/receiver.mjs` (the
seed's `express.json()` verifier plus raw-body and round-trip checks) on 127.0.0.1:0,
and `StringifyOracle` keeps one `node` process answering `JSON.stringify(JSON.parse(t))`
for thousands of texts.
"""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

NODE_DIR = Path(__file__).resolve().parents[1] / "receivers" / "node"
WEBHOOK_PATH = "/webhooks/reseller"
_install_lock = threading.Lock()
_LOCKED = ("express", "standardwebhooks")  # package.json's dependencies: installed or `npm ci`


class NodeUnavailable(RuntimeError):
    """`node`/`npm` missing or the receiver's dependencies cannot be installed."""


def node_available() -> bool:
    return shutil.which("node") is not None


def ensure_node_modules(timeout: float = 300) -> Path:
    """Install the receivers' locked dependencies once (`npm ci`); a no-op afterwards."""
    with _install_lock:
        modules = NODE_DIR / "node_modules"
        if all((modules / name / "package.json").is_file() for name in _LOCKED):
            return NODE_DIR
        npm = shutil.which("npm")
        if npm is None or not node_available():
            raise NodeUnavailable("node and npm are needed for the Node.js conformance tests")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise NodeUnavailable(f"npm ci failed: {done.stderr[-2000:]}")
        return NODE_DIR


# ---------------------------------------------------------------- receiver


@dataclass
class NodeReceiver:
    """A running `receiver.mjs`; `url` is the webhook endpoint to deliver to."""

    base_url: str
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    async def records(self) -> list[dict[str, Any]]:
        """Every request so far, oldest first (see receiver.mjs for the fields)."""
        async with self.session.get(f"{self.base_url}/received") as response:
            response.raise_for_status()
            records: list[dict[str, Any]] = await response.json()
            return records

    async def clear(self) -> None:
        async with self.session.delete(f"{self.base_url}/received") as response:
            response.raise_for_status()

    async def add_secret(self, secret: str) -> None:
        """Accept one more secret, so one receiver serves several webhooks."""
        async with self.session.post(f"{self.base_url}/secrets", json={"secret": secret}) as r:
            r.raise_for_status()

    async def set_status(self, status: int | None) -> None:
        """Answer verified requests with `status` (None: back to 200); failures stay 4xx/5xx."""
        async with self.session.put(f"{self.base_url}/behaviour", json={"status": status}) as r:
            r.raise_for_status()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll until at least `count` requests have arrived (bounded in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            records = await self.records()
            if len(records) >= count or loop.time() > deadline:
                return records
            await asyncio.sleep(0.02)


@asynccontextmanager
async def node_receiver(
    secret: str | None = None, *, startup_timeout: float = 15.0
) -> AsyncIterator[NodeReceiver]:
    """Run the Express receiver on an ephemeral loopback port for the block's duration."""
    ensure_node_modules()
    env = {key: value for key, value in os.environ.items() if key != "RESELLER_WEBHOOK_SECRET"}
    if secret is not None:
        env["RESELLER_WEBHOOK_SECRET"] = secret
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            "node",
            "receiver.mjs",
            "0",
            cwd=NODE_DIR,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
        try:
            port = await asyncio.wait_for(_listening_port(process), startup_timeout)
            async with aiohttp.ClientSession() as session:
                yield NodeReceiver(f"http://127.0.0.1:{port}", session)
        except (TimeoutError, NodeUnavailable) as exc:
            stderr.seek(0)
            raise NodeUnavailable(f"receiver.mjs: {exc!r}: {stderr.read()[-2000:]!r}") from exc
        finally:
            await _stop(process)


async def _listening_port(process: asyncio.subprocess.Process) -> int:
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode().strip()
    if not line.startswith("LISTENING "):
        raise NodeUnavailable(f"unexpected first line {line!r}")
    return int(line.split()[1])


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


# ---------------------------------------------------------------- oracle


class StringifyOracle:
    """One `node` process answering `JSON.stringify(JSON.parse(text))` for batches of texts.

    `stringify` returns, per text, JavaScript's output as a Python `str` (encode it
    as UTF-8 to compare with canonical bytes), or None where `JSON.parse` threw.
    Texts must not contain a newline (the line protocol); `json.dumps` never emits one.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.last_errors: list[str] = []

    def start(self) -> "StringifyOracle":
        ensure_node_modules()
        if self._process is None:
            self._process = subprocess.Popen(
                ["node", "stringify_oracle.mjs"],
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> "StringifyOracle":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stringify(self, texts: Iterable[str]) -> list[str | None]:
        batch = list(texts)
        for text in batch:
            if "\n" in text:
                raise ValueError("oracle texts are one line each; drop the newlines")
        payload = "".join(text + "\n" for text in batch).encode("utf-8")
        with self._lock:
            process = self.start()._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            # Write from a thread: node writes its answers synchronously to the pipe, so
            # a single thread writing a large batch and then reading could deadlock.
            writer = threading.Thread(target=_write_all, args=(process.stdin, payload))
            writer.start()
            lines = [process.stdout.readline() for _ in batch]
            writer.join()
        results: list[str | None] = []
        self.last_errors = []
        for raw in lines:
            if not raw:
                raise NodeUnavailable("the oracle process ended early")
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("ERR "):
                self.last_errors.append(line[4:])
                results.append(None)
            else:
                results.append(json.loads(line))
        return results


def _write_all(stream: IO[bytes], payload: bytes) -> None:
    stream.write(payload)
    stream.flush()
