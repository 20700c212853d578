"""HTTP/1.1 by hand over a socket, for what httpx will not do: a body that keeps coming
while we watch for the answer, or headers with no body at all."""

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client had written when the answer was complete

    def json(self) -> Any:
        return json.loads(self.body)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


async def upload(
    url: str,
    path: str,
    *,
    headers: dict[str, str],
    total: int,
    chunked: bool = False,
    send_body: bool = True,
) -> RawAnswer:
    """POST `total` bytes of JSON whitespace (declared as Content-Length unless `chunked`),
    writing until the server answers; `send_body=False` sends the headers only."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    sent = 0

    async def write_body() -> None:
        nonlocal sent
        while send_body and sent < total:
            piece = b" " * min(CHUNK, total - sent)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()  # blocks once the server stops reading
            sent += len(piece)

    writing = asyncio.ensure_future(write_body())
    try:
        status, answer_headers, body = await asyncio.wait_for(_read_answer(reader), 10)
        return RawAnswer(status, answer_headers, body, sent)
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await writing
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
