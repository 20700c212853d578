"""The connect-time network guard for aiohttp.

`GuardedResolver` resolves the target afresh for every new connection and refuses when
*any* resolved address fails the URL policy; aiohttp then connects only to the
addresses it returned, while TLS keeps verifying the certificate and SNI for the real
host name. So a name that resolves to a public address on save and to 127.0.0.1 later
(DNS rebinding) is refused at delivery time.

aiohttp does not consult the resolver for IP-literal hosts, so the connector also gets
a socket factory that checks every address just before the socket connects: whatever
path an address took (literal, resolver, a future aiohttp change), nothing private is
dialled. `guard_url` re-applies the URL rules before an attempt for a clearer message.
"""

import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from app.egress.tls import build_ssl_context
from app.egress.url_policy import UrlRejected, address_rule, check_webhook_url


class BlockedAddressError(OSError):
    """The target resolved to an address the policy refuses; the message says which rule.

    An `OSError` so aiohttp treats it like any connect failure (and wraps it in a
    `ClientConnectorError`, whose `os_error` keeps it for `describe_client_error`).
    """

    def __init__(self, message: str, *, host: str = "", address: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.address = address

    def __str__(self) -> str:
        return str(self.args[0])


def _rule_for(raw_address: str) -> str | None:
    """The refusing rule for a resolved address string; unparseable answers fail closed."""
    try:
        address = ipaddress.ip_address(raw_address.split("%", 1)[0])
    except ValueError:
        return "is not an IP address"
    return address_rule(address)


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and refuses the host if any answer is not public."""

    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        # One refused answer refuses the name: a rebinding attacker controls the order.
        for result in results:
            rule = _rule_for(result["host"])
            if rule is not None:
                raise BlockedAddressError(
                    f"blocked: host {host} resolved to {result['host']}, which {rule}",
                    host=host,
                    address=result["host"],
                )
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(addr_info: AddrInfoType) -> socket.socket:
    """aiohttp's last step before `connect()`: refuse any address the policy refuses."""
    family, type_, proto, _, sockaddr = addr_info
    address = str(sockaddr[0])
    rule = _rule_for(address)
    if rule is not None:
        raise BlockedAddressError(f"blocked: {address} {rule}", address=address)
    return socket.socket(family=family, type=type_, proto=proto)


def guard_url(url: str, *, allow_private: bool) -> None:
    """Re-apply the URL rules at delivery time (covers IP literals and policy changes)."""
    reason = _url_refusal(url, allow_private)
    if reason is not None:
        raise BlockedAddressError(f"blocked: {reason}")


@functools.lru_cache(maxsize=4096)
def _url_refusal(url: str, allow_private: bool) -> str | None:
    """The URL rules are a pure function of the string: the verdict is remembered (the
    check was 6 % of a busy worker's CPU). Addresses are still checked per connection."""
    try:
        check_webhook_url(url, allow_private=allow_private)
    except UrlRejected as exc:
        return exc.reason
    return None


def build_connector(
    *,
    allow_private: bool,
    ca_bundle: str | None = None,
    limit: int,
    limit_per_host: int = 0,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    connector_class: Callable[..., aiohttp.TCPConnector] = aiohttp.TCPConnector,
) -> aiohttp.TCPConnector:
    """A pooled connector that resolves through the guard for every new connection.

    `resolver` is the inner resolver (tests map names to 127.0.0.1 with it); pass
    `ssl_context` instead of `ca_bundle` to share one context between connectors.
    Pooled keep-alive connections are reused: they were vetted when opened.
    """
    if ssl_context is not None and ca_bundle is not None:
        raise ValueError("pass ca_bundle or ssl_context, not both")
    return connector_class(
        resolver=GuardedResolver(allow_private=allow_private, inner=resolver),
        use_dns_cache=False,  # every new connection resolves (and is vetted) again
        ssl=ssl_context if ssl_context is not None else build_ssl_context(ca_bundle),
        limit=limit,
        limit_per_host=limit_per_host,
        keepalive_timeout=30,
        enable_cleanup_closed=True,
        socket_factory=None if allow_private else guarded_socket_factory,
    )


# Any URL in an exception's text, kept only up to its origin (`scheme://host:port`):
# paths and query strings are where receivers keep their tokens.
_URL = re.compile(r"(?P<origin>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s'\"<>?#]*)[^\s'\"<>]*")


def without_paths(text: str) -> str:
    """`text` with every URL cut to its origin."""
    return _URL.sub(lambda match: match["origin"], text)


def describe_client_error(exc: BaseException) -> str:
    """A short, secret-free line for a failed attempt (stored as `last_error`, logged).

    Built from the kind of failure and its status, reason, host and port, never from
    aiohttp's own text, which carries the full URL (path and query) for several errors;
    any text we do keep has its URLs cut to their origin. A refusal keeps its reason.
    """
    blocked = find_refusal(exc)
    if blocked is not None:
        return without_paths(str(blocked))
    if isinstance(exc, TimeoutError):
        return "timeout: no complete response within the delivery timeout"
    if isinstance(exc, aiohttp.ClientResponseError):  # its text ends with the full URL
        return f"http: {exc.status} {without_paths(str(exc.message))[:200]}".rstrip()
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"tls: certificate verification failed ({exc.certificate_error})"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"tls: {_os_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dns: could not resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {exc.host}:{exc.port} refused or unreachable ({exc.strerror})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "network: the server closed the connection without a response"
    if isinstance(exc, aiohttp.InvalidURL):  # its text is the URL itself
        return "invalid url: the webhook URL could not be parsed"
    if isinstance(exc, aiohttp.ClientError):
        return f"network: {type(exc).__name__}: {without_paths(str(exc))[:200]}"
    return f"error: {type(exc).__name__}: {without_paths(str(exc))[:200]}"


def _os_reason(exc: aiohttp.ClientSSLError) -> str:
    """The TLS library's reason (no URL in it), not aiohttp's "Cannot connect to …"."""
    reason = getattr(exc.os_error, "reason", None) or getattr(exc.os_error, "strerror", None)
    return without_paths(str(reason or type(exc.os_error).__name__))[:200]


def find_refusal(exc: BaseException) -> BlockedAddressError | None:
    """The guard's refusal behind `exc`, walking aiohttp's wrappers (`os_error`, causes,
    contexts); None when the failure was something else."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedAddressError):
            return current
        pending.extend((getattr(current, "os_error", None), current.__cause__, current.__context__))
    return None
