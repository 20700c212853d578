"""Where the time of one request goes (simulations): DNS, TCP connect, TLS, first byte.

Measured on a fresh connection of its own, so a pooled keep-alive connection never
reports zeros: `timed_session` is a one-off session over a connector built like the
delivery one (the same guarded resolver, socket check and TLS verification), with

- aiohttp's trace hooks for DNS (around the guarded resolver: the lookup *and* the
  policy check of every answer), the request sent and the response's headers;
- `TimedConnector` splitting aiohttp's connection step into the TCP connect (happy
  eyeballs over the vetted addresses) and the TLS handshake, which aiohttp times only
  together.

Phases that did not happen are None: no DNS for an IP literal, no TLS for http://,
nothing after a phase that failed. Each is a duration in milliseconds; `total` covers
the whole exchange (the guard's URL check, sending and reading the response included),
so it is at least their sum.
"""

import asyncio
import functools
import ssl
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohappyeyeballs
import aiohttp
from aiohttp.client_exceptions import (
    ClientConnectorCertificateError,
    ClientConnectorError,
    ClientConnectorSSLError,
)
from aiohttp.helpers import ceil_timeout

from app.config import Settings
from app.egress.client import USER_AGENT
from app.egress.resolver import build_connector
from app.egress.tls import build_ssl_context

_CERT_ERRORS = (ssl.CertificateError,)
_SSL_ERRORS = (ssl.SSLError,)


@dataclass(slots=True)
class Timing:
    """Monotonic marks (seconds) of one request; read out with `phases()`."""

    started: float | None = None
    dns_start: float | None = None
    dns_end: float | None = None
    tcp_start: float | None = None
    tcp_end: float | None = None
    tls_end: float | None = None
    sent: float | None = None
    first_byte: float | None = None
    finished: float | None = None

    def phases(self) -> dict[str, float | None]:
        def span(start: float | None, end: float | None) -> float | None:
            return None if start is None or end is None else round((end - start) * 1000, 3)

        return {
            "dns": span(self.dns_start, self.dns_end),
            "connect": span(self.tcp_start, self.tcp_end),
            "tls": span(self.tcp_end, self.tls_end),
            "firstByte": span(self.sent, self.first_byte),
            "total": span(self.started, self.finished) or 0.0,
        }


class TimedConnector(aiohttp.TCPConnector):
    """A TCP connector that marks the end of the TCP connect and of the TLS handshake.

    The same steps as aiohttp 3.14's `_wrap_create_connection` (connect the vetted
    addresses, then hand the socket to the loop, which does TLS), with a mark between
    them; the same exceptions come out. Used only for simulations."""

    def __init__(self, *args: Any, timing: Timing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timing = timing

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: Any,
        req: Any,
        timeout: aiohttp.ClientTimeout,
        client_error: type[Exception] = ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, Any]:
        timing = self._timing
        try:
            async with ceil_timeout(timeout.sock_connect, ceil_threshold=timeout.ceil_threshold):
                timing.tcp_start = time.perf_counter()
                sock = await aiohappyeyeballs.start_connection(
                    addr_infos=addr_infos,
                    local_addr_infos=self._local_addr_infos,
                    happy_eyeballs_delay=self._happy_eyeballs_delay,
                    interleave=self._interleave,
                    loop=self._loop,
                    socket_factory=self._socket_factory,
                )
                timing.tcp_end = time.perf_counter()
                if kwargs.get("ssl") and self._ssl_shutdown_timeout and sys.version_info >= (3, 11):
                    kwargs["ssl_shutdown_timeout"] = self._ssl_shutdown_timeout
                connected = await self._loop.create_connection(*args, **kwargs, sock=sock)
                if kwargs.get("ssl"):
                    timing.tls_end = time.perf_counter()
                return connected
        except _CERT_ERRORS as exc:
            raise ClientConnectorCertificateError(req.connection_key, exc) from exc
        except _SSL_ERRORS as exc:
            raise ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc


def _trace_config(timing: Timing) -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()

    def mark(field: str, *, first: bool = False) -> Any:
        async def hook(_session: Any, _context: SimpleNamespace, _params: Any) -> None:
            if not (first and getattr(timing, field) is not None):
                setattr(timing, field, time.perf_counter())

        return hook

    config.on_dns_resolvehost_start.append(mark("dns_start", first=True))
    config.on_dns_resolvehost_end.append(mark("dns_end", first=True))
    config.on_request_headers_sent.append(mark("sent"))
    config.on_request_chunk_sent.append(mark("sent"))  # the last chunk of the body wins
    config.on_request_end.append(mark("first_byte", first=True))  # the response's headers
    return config


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Loading the CAs costs milliseconds: once per bundle, not per simulation."""
    return build_ssl_context(ca_bundle)


@asynccontextmanager
async def timed_session(settings: Settings, timing: Timing) -> AsyncIterator[aiohttp.ClientSession]:
    """A one-off session whose first request opens (and times) a fresh connection."""
    connector = build_connector(
        allow_private=settings.allow_private_targets,
        ssl_context=_ssl_context(settings.ca_bundle),
        limit=2,
        connector_class=functools.partial(TimedConnector, timing=timing),
    )
    session = aiohttp.ClientSession(
        connector=connector,
        trace_configs=[_trace_config(timing)],
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        raise_for_status=False,
        headers={"User-Agent": USER_AGENT},
    )
    try:
        yield session
    finally:
        await session.close()
