"""The connect-time network guard for aiohttp.

`GuardedResolver` resolves the target afresh for every connection and refuses when
*any* resolved address fails the URL policy; aiohttp then connects only to the
addresses it returned, while TLS keeps verifying the certificate and SNI for the real
host name. So a name that resolves to a public address on save and to 127.0.0.1 later
(DNS rebinding) is refused at delivery time. aiohttp bypasses resolvers for IP-literal
hosts, so `guard_url` re-checks the URL itself before every attempt.
"""

import ipaddress
import socket
import ssl
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from app.egress.url_policy import UrlRejected, check_webhook_url, refusal


class BlockedAddressError(OSError):
    """The target resolved to an address the policy refuses; the message says which rule."""


class GuardedResolver(AbstractResolver):
    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                reason = refusal(ipaddress.ip_address(result["host"].split("%", 1)[0]))
                if reason is not None:
                    raise BlockedAddressError(f"blocked: {host} resolved to {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def guard_url(url: str, *, allow_private: bool) -> None:
    """Re-apply the URL rules at delivery time (covers IP literals and policy changes)."""
    try:
        check_webhook_url(url, allow_private=allow_private)
    except UrlRejected as exc:
        raise BlockedAddressError(f"blocked: {exc.reason}") from None


def build_connector(
    *,
    allow_private: bool,
    ssl_context: ssl.SSLContext,
    limit: int,
    limit_per_host: int = 0,
    resolver: AbstractResolver | None = None,
) -> aiohttp.TCPConnector:
    """A pooled connector that re-resolves through the guard on every new connection."""
    return aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private, inner=resolver),
        use_dns_cache=False,
        ssl=ssl_context,
        limit=limit,
        limit_per_host=limit_per_host,
        keepalive_timeout=30,
        enable_cleanup_closed=True,
    )


def describe_client_error(exc: BaseException) -> str:
    """A short, secret-free log line for a failed attempt."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockedAddressError):
            return str(current)
        current = getattr(current, "os_error", None) or current.__cause__ or current.__context__
    if isinstance(exc, TimeoutError):
        return "timeout: no complete response within the delivery timeout"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"tls: certificate verification failed ({exc.certificate_error})"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"tls: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dns: could not resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {exc.host}:{exc.port} refused or unreachable ({exc.strerror})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "network: the server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientError):
        return f"network: {type(exc).__name__}: {exc}"
    return f"error: {type(exc).__name__}: {exc}"
