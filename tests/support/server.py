"""Run the production ASGI app (`create_asgi(settings)`) under a real uvicorn on 127.0.0.1.

Two ways, same app:
- `serve(settings)`: uvicorn in this process and event loop, on a free port. The
  running app is reachable (`server.app.state…`) and start-up is fast.
- `serve_process(settings)`: a child process (`python -m tests.support.server`), for
  tests that need several server processes (Redis rooms, crash/restart). Settings
  travel as JSON in HOOKLINE_TEST_SERVER_SETTINGS; the child binds the socket itself
  and prints `LISTENING <port>` before uvicorn starts, so the port is known at once
  and early connections wait in the listen backlog.

Both stop gracefully (uvicorn shutdown, lifespan exit) and never outlive the block.
"""

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import Settings
from app.live.server import UVICORN_WS_OPTIONS
from app.main import create_asgi

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_ENV = "HOOKLINE_TEST_SERVER_SETTINGS"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:<port>
    app: FastAPI | None  # the FastAPI app (in-process servers only)
    pid: int | None = None  # the server's process (child-process servers only)


class _QuietServer(uvicorn.Server):
    """Leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _config(asgi: Any, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        asgi, lifespan="on", log_level="warning", access_log=False, **UVICORN_WS_OPTIONS, **extra
    )


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it uvicorn's writes on a socket it did
    # not create meet Nagle + delayed ACK and every response waits ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[RunningServer]:
    """uvicorn in this event loop; yields once start-up (lifespan) has completed."""
    asgi = create_asgi(settings)
    sock = _bound_socket()
    server = _QuietServer(_config(asgi))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # raises the start-up error
                    raise RuntimeError("uvicorn exited during start-up")
                await asyncio.sleep(0.02)
        port = sock.getsockname()[1]
        yield RunningServer(f"http://127.0.0.1:{port}", fastapi_app_of(asgi))
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT)
        except TimeoutError:
            server.force_exit = True
            await asyncio.wait_for(task, STOP_TIMEOUT)
        sock.close()


def fastapi_app_of(asgi: Any) -> FastAPI:
    """The FastAPI app inside `create_asgi`'s wrappers (body limit, Socket.IO)."""
    while not isinstance(asgi, FastAPI):
        asgi = getattr(asgi, "other_asgi_app", None) or asgi.app
    return asgi


def settings_json(settings: Settings) -> str:
    """Every field of `settings` as JSON the child can feed back into `Settings(**…)`."""
    values = settings.model_dump(mode="json")
    if settings.admin_token is not None:
        values["admin_token"] = settings.admin_token.get_secret_value()
    return json.dumps(values)


@contextlib.asynccontextmanager
async def serve_process(settings: Settings) -> AsyncIterator[RunningServer]:
    """The app in a child process; SIGTERM (graceful) on exit, SIGKILL if it lingers."""
    env = dict(os.environ)
    env[SETTINGS_ENV] = settings_json(settings)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.server",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        words = line.decode().split()
        if len(words) != 2 or words[0] != "LISTENING":
            raise RuntimeError(f"server child did not start: {line!r}")
        yield RunningServer(f"http://127.0.0.1:{words[1]}", None, proc.pid)
    finally:
        await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


def _child_main() -> None:
    values: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    if values.get("admin_token") is not None:
        values["admin_token"] = SecretStr(values["admin_token"])
    settings = Settings(**values)
    sock = _bound_socket()
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(_config(create_asgi(settings), timeout_graceful_shutdown=5))
    server.run(sockets=[sock])


if __name__ == "__main__":
    _child_main()
