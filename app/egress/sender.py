"""One signed POST to a webhook target: the part of an attempt that touches the network.

Shared by the dispatcher and simulations so both send, time and report identically:
the URL is re-checked by the guard, redirects are never followed, only a 2xx counts,
and the response is read only up to a limit.
"""

import time
from dataclasses import dataclass

import aiohttp

from app.egress.resolver import BlockedAddressError, describe_client_error, guard_url


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int | None
    latency_ms: int
    response_body: str | None
    error: str | None
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post_signed(
    session: aiohttp.ClientSession,
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    allow_private: bool,
    max_response_bytes: int,
) -> PostResult:
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        guard_url(url, allow_private=allow_private)
        async with session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as response:
            raw = await response.content.read(max_response_bytes)
            status = response.status
            retry_after = response.headers.get("Retry-After")
    except (aiohttp.ClientError, TimeoutError, BlockedAddressError, OSError) as exc:
        return PostResult(None, elapsed_ms(), None, describe_client_error(exc))
    text = raw.decode("utf-8", errors="replace")
    error = None if 200 <= status < 300 else f"http: endpoint answered {status}"
    if 300 <= status < 400:
        error = f"http: endpoint answered {status} (redirects are not followed)"
    return PostResult(status, elapsed_ms(), text, error, retry_after)
