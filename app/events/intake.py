"""Reading an ingest request's body: JSON only, bounded in size, in time and in memory.

The caller authenticates first (with a short session of its own, released before any
byte of the body is read), so no database connection is ever held while a client
uploads, and a client without a valid key never gets its body read.

- A `Content-Type` other than JSON (`application/json` or `…+json`) answers 415; a
  request without one is read as JSON.
- The whole body must arrive within `HOOKLINE_INGEST_READ_TIMEOUT_SECONDS`, else 408
  (the connection is then closed, whatever the client still sends).
- Every body being read, parsed or committed counts against a per-process budget of
  `HOOKLINE_INGEST_MAX_BYTES_IN_FLIGHT`: a request whose bytes do not fit waits up to
  `BUDGET_WAIT_SECONDS` for others to finish, then answers 503 with `Retry-After`.
  The size comes from `Content-Length` when given, else it is reserved as chunks arrive.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import Request

from app.config import Settings
from app.errors import PayloadTooLarge, RequestTimeout, ServiceUnavailable, UnsupportedMediaType

BUDGET_WAIT_SECONDS = 2.0


class ByteBudget:
    """Bytes in flight, granted first come, first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def acquire(self, size: int, timeout: float) -> None:
        """Reserve `size` bytes, waiting up to `timeout` seconds; TimeoutError if not."""
        if not self._waiters and self.used + size <= self.limit:
            self.used += size
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(size)  # granted just as we gave up
            else:
                future.cancel()
                self._waiters.remove(entry)
                self._grant()
            raise

    def release(self, size: int) -> None:
        self.used -= size
        self._grant()

    def _grant(self) -> None:
        while self._waiters:
            size, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            if self.used + size > self.limit:
                return
            self._waiters.popleft()
            self.used += size
            future.set_result(None)


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Too many ingest bytes in flight in this process, retry shortly",
        headers={"Retry-After": "1"},
    )


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Ingest takes application/json, not {media or 'nothing'}")


class Body:
    """The body read, handed over once (`take`) so the caller can drop it after parsing."""

    def __init__(self, raw: bytes) -> None:
        self._raw: bytes | None = raw

    def take(self) -> bytes:
        raw, self._raw = self._raw, None
        assert raw is not None, "the body was already taken"
        return raw


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body exceeds {limit} bytes (HOOKLINE_MAX_EVENT_BYTES)")


@asynccontextmanager
async def read_body(
    request: Request, settings: Settings, budget: ByteBudget
) -> AsyncIterator[Body]:
    """The body, with its bytes held against the budget until the block ends."""
    limit = settings.max_event_bytes
    length_header = request.headers.get("content-length")
    length = int(length_header) if length_header is not None and length_header.isdigit() else None
    if length is not None and length > limit:
        raise _too_large(limit)
    reserved = 0
    try:
        if length is not None:
            try:
                await budget.acquire(length, BUDGET_WAIT_SECONDS)
            except TimeoutError:
                raise _busy() from None
            reserved = length
        try:
            async with asyncio.timeout(settings.ingest_read_timeout_seconds):
                buffer = bytearray()
                async for chunk in request.stream():
                    if len(buffer) + len(chunk) > limit:
                        raise _too_large(limit)
                    if len(buffer) + len(chunk) > reserved:  # no or a lying Content-Length
                        extra = len(buffer) + len(chunk) - reserved
                        try:
                            await budget.acquire(extra, BUDGET_WAIT_SECONDS)
                        except TimeoutError:
                            raise _busy() from None
                        reserved += extra
                    buffer += chunk
        except TimeoutError:
            seconds = settings.ingest_read_timeout_seconds
            raise RequestTimeout(
                f"The body did not arrive within {seconds:g} s "
                "(HOOKLINE_INGEST_READ_TIMEOUT_SECONDS)"
            ) from None
        body = Body(bytes(buffer))
        del buffer
        yield body
    finally:
        if reserved:
            budget.release(reserved)
