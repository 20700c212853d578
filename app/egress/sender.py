"""One signed POST to a webhook target: the part of an attempt that touches the network.

Shared by the dispatcher and simulations so both send, time and report identically:
the URL is re-checked by the guard, redirects are never followed, only a 2xx counts,
and the response is read only up to a limit. Every way an attempt can end is a
`PostResult` with a kind, set where the outcome is known (never by matching text).
"""

import time
from dataclasses import dataclass
from enum import StrEnum

import aiohttp

from app.egress.resolver import (
    BlockedAddressError,
    describe_client_error,
    find_refusal,
    guard_url,
)
from app.kit.text import storable_text

ERROR_TEXT_LIMIT = 1000  # characters of an error message kept (ours, but may quote a peer)
HEADER_VALUE_LIMIT = 64  # a Retry-After longer than this is not a number or a date


class AttemptKind(StrEnum):
    SUCCESS = "success"
    HTTP_ERROR = "http_error"  # an answer that is not 2xx (3xx included: never followed)
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"  # DNS, connect, TLS, a connection closed mid-answer
    REFUSED = "refused"  # the network guard refused the target: nothing was sent


@dataclass(frozen=True, slots=True, kw_only=True)
class PostResult:
    kind: AttemptKind
    latency_ms: int
    status: int | None = None
    response_body: str | None = None  # sanitised: safe to store
    error: str | None = None  # sanitised: safe to store
    retry_after: str | None = None  # the raw header, bounded in length

    @property
    def delivered(self) -> bool:
        return self.kind is AttemptKind.SUCCESS


def _failure_kind(exc: BaseException) -> AttemptKind:
    if find_refusal(exc) is not None:
        return AttemptKind.REFUSED
    if isinstance(exc, TimeoutError):
        return AttemptKind.TIMEOUT
    return AttemptKind.NETWORK_ERROR


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
        return PostResult(
            kind=_failure_kind(exc),
            latency_ms=elapsed_ms(),
            error=storable_text(describe_client_error(exc), limit=ERROR_TEXT_LIMIT),
        )
    text = storable_text(raw.decode("utf-8", errors="replace"), limit=max_response_bytes)
    if retry_after is not None and len(retry_after) > HEADER_VALUE_LIMIT:
        retry_after = None  # not a delay anyone means; never parsed
    if 200 <= status < 300:
        return PostResult(
            kind=AttemptKind.SUCCESS, latency_ms=elapsed_ms(), status=status, response_body=text
        )
    error = f"http: endpoint answered {status}"
    if 300 <= status < 400:
        error += " (redirects are not followed)"
    return PostResult(
        kind=AttemptKind.HTTP_ERROR,
        latency_ms=elapsed_ms(),
        status=status,
        response_body=text,
        error=error,
        retry_after=retry_after,
    )
