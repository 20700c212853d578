"""pyreqwest (Rust reqwest) behind the delivery path's network guard, for the benchmarks.

`ReqwestSession` has the one method of `aiohttp.ClientSession` that the delivery path
uses (`post()` as an async context manager whose response has `status`, `headers` and
`content.read(n)`), so `app.egress.sender.post_signed`, `app.dispatch.attempt.send` and
the `Dispatcher` run unchanged on top of it and the comparison isolates the client.

The guard, as in `app.egress.resolver`:
- every address a name resolves to is vetted by `GuardedResolver` (the URL policy's
  `address_rule`); one refused answer refuses the name; IP literals are vetted here;
- the vetted address is pinned with reqwest's static `resolve(name, ip)` override,
  so reqwest never does its own DNS for that name, while TLS verifies the certificate
  for, and sends SNI with, the real name. pyreqwest exposes no resolver hook and no
  per-request override, so pinning costs one `Client` (one pool) per name and address;
- the key of the override is the host exactly as reqwest's own URL parser reads it
  (`pyreqwest.http.Url`: lower-cased, IDNA, WHATWG IPv4), so the override cannot miss
  and fall back to unvetted system DNS;
- no redirects, no proxies from the environment, no cookies, no decompression, one
  total timeout (connect to the last body byte), the body streamed and read only up
  to the asked size, `HOOKLINE_CA_BUNDLE` added to the trusted roots.

pyreqwest's errors become the aiohttp exceptions `describe_client_error` knows, built
from the error's causes without the URL (reqwest's first cause quotes it in full).

Differences that remain: header names go out lower-cased (pyreqwest offers that or
Title-Case, never the names as given, which aiohttp sends); one address is pinned per
name (aiohttp tries each vetted answer in turn); a name is resolved again after
`RESOLVE_TTL_SECONDS`, not per new connection (reqwest shows no connection events);
pinned clients are not evicted (fine for a benchmark, not for thousands of endpoints).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.client_reqrep import ConnectionKey
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import ConnectError, PyreqwestError, RequestTimeoutError
from pyreqwest.http import Url
from pyreqwest.response import Response

from app.config import Settings
from app.egress.client import USER_AGENT
from app.egress.resolver import BlockedAddressError, GuardedResolver, without_paths
from app.egress.sender import PostResult
from app.egress.sender import post_signed as aiohttp_post_signed
from app.egress.url_policy import address_rule

RESOLVE_TTL_SECONDS = 30.0  # a pinned client is used this long before the name resolves again
IDLE_SECONDS = 30  # idle keep-alive connections, as the aiohttp connector's keepalive_timeout


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class _Content:
    def __init__(self, response: Response) -> None:
        self._response = response

    async def read(self, limit: int) -> bytes:
        """At most `limit` bytes; the rest of the body is never read (nor buffered)."""
        reader = self._response.body_reader
        chunks: list[bytes] = []
        got = 0
        while got < limit:
            chunk = await reader.read(limit - got)
            if chunk is None:
                break
            data = bytes(chunk)
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)


class _Response:
    def __init__(self, response: Response) -> None:
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.content = _Content(response)


class _Pinned:
    __slots__ = ("address", "client", "expires")

    def __init__(self, address: str, client: Client, expires: float) -> None:
        self.address, self.client, self.expires = address, client, expires


class ReqwestSession:
    """Use as `async with ReqwestSession(...) as http`; pass where a session is expected."""

    def __init__(
        self,
        *,
        allow_private: bool,
        ca_bundle: str | None = None,
        resolver: AbstractResolver | None = None,
        resolve_ttl_seconds: float = RESOLVE_TTL_SECONDS,
    ) -> None:
        self._allow_private = allow_private
        self._roots = Path(ca_bundle).read_bytes() if ca_bundle else None
        self._resolver = GuardedResolver(allow_private=allow_private, inner=resolver)
        self._ttl = resolve_ttl_seconds
        self._pinned: dict[str, _Pinned] = {}
        self._resolving: dict[str, asyncio.Task[_Pinned]] = {}
        self._retired: list[Client] = []
        self._literals = self._builder().build()  # for IP-literal hosts: nothing to resolve

    def _builder(self) -> ClientBuilder:
        builder = (
            ClientBuilder()
            .follow_redirects(False)
            .no_proxy()  # a proxy would do the connecting (and the DNS) instead of us
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .referer(False)
            .http1_lower_case_headers()  # see the module docstring
            .user_agent(USER_AGENT)
            .pool_idle_timeout(timedelta(seconds=IDLE_SECONDS))
        )
        if self._roots is not None:
            builder = builder.add_root_certificate_pem(self._roots)  # a bundle: every cert
        return builder

    async def __aenter__(self) -> ReqwestSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        clients = [self._literals, *self._retired, *(p.client for p in self._pinned.values())]
        self._pinned.clear()
        for client in clients:
            await client.close()

    async def _client_for(self, host: str, port: int) -> Client:
        literal = _literal(host)
        if literal is not None:
            rule = None if self._allow_private else address_rule(literal)
            if rule is not None:
                raise BlockedAddressError(f"blocked: {literal} {rule}", address=str(literal))
            return self._literals
        pinned = self._pinned.get(host)
        if pinned is not None and pinned.expires > time.monotonic():
            return pinned.client
        task = self._resolving.get(host)
        if task is None:  # one resolution per name at a time, however many requests wait
            task = asyncio.create_task(self._pin(host, port, pinned))
            self._resolving[host] = task
            task.add_done_callback(lambda _: self._resolving.pop(host, None))
        return (await asyncio.shield(task)).client

    async def _pin(self, host: str, port: int, old: _Pinned | None) -> _Pinned:
        try:
            answers = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        except BlockedAddressError:
            raise
        except OSError as exc:
            key = ConnectionKey(host, port, False, True, None, None, None, None)
            raise aiohttp.ClientConnectorDNSError(key, exc) from exc
        address = answers[0]["host"]  # every answer passed the guard; the first is dialled
        expires = time.monotonic() + self._ttl
        if old is not None and old.address == address:
            pinned = _Pinned(address, old.client, expires)  # same answer: keep the pool
        else:
            client = self._builder().resolve(host, address, port).build()
            pinned = _Pinned(address, client, expires)
            if old is not None:
                self._retired.append(old.client)  # closed with the session
        self._pinned[host] = pinned
        return pinned

    @asynccontextmanager
    async def post(
        self,
        url: str,
        *,
        data: bytes,
        headers: Mapping[str, str],
        allow_redirects: bool = False,
        timeout: aiohttp.ClientTimeout,
    ) -> AsyncIterator[_Response]:
        if allow_redirects:
            raise ValueError("redirects are never followed")
        host, port, tls = _target(url)
        client = await self._client_for(host, port)
        request = client.post(url).headers(dict(headers)).body_bytes(data)
        if timeout.total is not None:
            request = request.timeout(timedelta(seconds=timeout.total))
        try:
            async with request.build_streamed() as response:
                yield _Response(response)
        except RequestTimeoutError:
            raise  # a TimeoutError already
        except PyreqwestError as exc:
            raise _as_aiohttp(exc, host=host, port=port, tls=tls) from None


@functools.lru_cache(maxsize=4096)
def _target(url: str) -> tuple[str, int, bool]:
    """Host (as reqwest will read it: the key its override must match), port, TLS."""
    try:
        parsed = Url(url)
    except (ValueError, PyreqwestError) as exc:
        raise aiohttp.InvalidURL("the webhook URL could not be parsed") from exc
    tls = parsed.scheme == "https"
    return parsed.host_str or "", parsed.port or (443 if tls else 80), tls


def _causes(exc: PyreqwestError) -> list[str]:
    details = cast("dict[str, Any]", getattr(exc, "details", None) or {})
    messages = [str(cause["message"]) for cause in details.get("causes") or []]
    return [m for m in messages if "for url (" not in m] or [exc.message]


def _as_aiohttp(exc: PyreqwestError, *, host: str, port: int, tls: bool) -> aiohttp.ClientError:
    """The aiohttp error for a pyreqwest failure, so `describe_client_error` words it."""
    causes = _causes(exc)
    last = without_paths(causes[-1])[:200]
    key = ConnectionKey(host, port, tls, True, None, None, None, None)
    if isinstance(exc, ConnectError):
        if any("certificate" in c for c in causes):
            return aiohttp.ClientConnectorCertificateError(key, ValueError(last))
        if any("dns error" in c for c in causes):
            return aiohttp.ClientConnectorDNSError(key, OSError(last))
        return aiohttp.ClientConnectorError(key, OSError(0, last))
    if any("connection closed before message completed" in c for c in causes):
        return aiohttp.ServerDisconnectedError()
    return aiohttp.ClientPayloadError(last)


async def post_signed(
    session: ReqwestSession,
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    allow_private: bool,
    max_response_bytes: int,
) -> PostResult:
    """`app.egress.sender.post_signed` over pyreqwest: same arguments, same `PostResult`
    (the URL rules re-applied, only a 2xx a success, the read bounded, the kind set)."""
    return await aiohttp_post_signed(
        as_client_session(session),
        url=url,
        body=body,
        headers=headers,
        timeout_seconds=timeout_seconds,
        allow_private=allow_private,
        max_response_bytes=max_response_bytes,
    )


def as_client_session(session: ReqwestSession) -> aiohttp.ClientSession:
    """The delivery path is typed for aiohttp; it only calls `post()` (see the docstring)."""
    return cast(aiohttp.ClientSession, session)


def create_reqwest_session(
    settings: Settings, *, resolver: AbstractResolver | None = None
) -> ReqwestSession:
    """`app.egress.client.create_http_session`'s counterpart, from the same settings."""
    return ReqwestSession(
        allow_private=settings.allow_private_targets,
        ca_bundle=settings.ca_bundle,
        resolver=resolver,
    )
