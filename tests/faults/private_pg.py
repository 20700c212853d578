"""A private PostgreSQL instance for tests that stop and restart the server.

The shared server at 127.0.0.1:5432 serves every other suite, so a restart test gets
its own: `initdb` into a fresh directory, `pg_ctl start` on a free port (TCP on
127.0.0.1, its socket in the same directory), and `stop` + removal at the end. As
root the binaries run as the `postgres` user, which PostgreSQL insists on.
"""

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from tests.faults.helpers import free_port


def find_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.data = root / "data"
        self.port = free_port()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        if process.returncode != 0:
            raise RuntimeError(f"{tool} failed ({process.returncode}): {output.decode()[-2000:]}")

    async def init(self) -> None:
        await self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")

    async def start(self) -> None:
        # fsync off: a test instance, thrown away at the end; crash safety is not tested here.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        await self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    async def stop(self, mode: str = "fast") -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def create_database(self, name: str) -> str:
        connection = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", timeout=10
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)


@contextlib.asynccontextmanager
async def private_postgres(bin_dir: Path) -> AsyncIterator[PrivatePostgres]:
    """A running instance for the block; stopped (immediate) and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="hl-pg-"))  # short: the socket path is limited
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    instance = PrivatePostgres(bin_dir, root)
    try:
        await instance.init()
        await instance.start()
        yield instance
    finally:
        with contextlib.suppress(RuntimeError):
            await instance.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
