"""The network guard around pyreqwest (`bench.reqwest_sender`): the cases of
tests/egress/test_resolver.py and test_tls.py, which drive aiohttp's connector directly
and so cannot run against another client unchanged, plus the sender's own promises
(redirects, one total timeout, a bounded read, no proxy from the environment).

Run: python -m pytest -p no:cacheprovider bench/test_reqwest_guard.py
(benchmark support: outside `tests/`, so the suite does not collect it; pyreqwest is a
dev dependency for bench/ only).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import trustme
from aiohttp import web

from app.egress.sender import AttemptKind, PostResult
from bench.reqwest_sender import ReqwestSession, post_signed
from tests.support.fake_dns import TableResolver

HOST = "hooks.example.test"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[..., Awaitable[tuple[int, list[str]]]]


async def _hello(_: web.Request) -> web.StreamResponse:
    return web.Response(text="hello")


@pytest_asyncio.fixture
async def served() -> AsyncIterator[Serve]:
    """`await served(handler, ssl_context=None)` -> (port, paths seen), on 127.0.0.1."""
    runners: list[web.AppRunner] = []

    async def serve(
        handler: Handler = _hello, ssl_context: ssl.SSLContext | None = None
    ) -> tuple[int, list[str]]:
        seen: list[str] = []

        async def record(request: web.Request) -> web.StreamResponse:
            seen.append(request.path)
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        runners.append(runner)
        return runner.addresses[0][1], seen

    yield serve
    for runner in runners:
        await runner.cleanup()


async def _post(
    url: str,
    *,
    allow_private: bool,
    table: TableResolver | None = None,
    ca_bundle: str | None = None,
    timeout: float = 5.0,
    max_bytes: int = 4096,
) -> PostResult:
    async with ReqwestSession(
        allow_private=allow_private, ca_bundle=ca_bundle, resolver=table or TableResolver({})
    ) as session:
        return await post_signed(
            session,
            url=url,
            body=b"{}",
            headers={"Content-Type": "application/json"},
            timeout_seconds=timeout,
            allow_private=allow_private,
            max_response_bytes=max_bytes,
        )


async def test_rebinding_name_refused_in_strict_mode(served: Serve) -> None:
    port, seen = await served()
    table = TableResolver({"rebind.test": ["127.0.0.1"]})
    # The URL passes the URL rules (a public-looking https name): only the resolve-and-vet
    # step can refuse it, and it does before anything is dialled.
    result = await _post(f"https://rebind.test:{port}/", allow_private=False, table=table)
    assert result.kind is AttemptKind.REFUSED
    assert result.error == (
        "blocked: host rebind.test resolved to 127.0.0.1, which is a loopback address"
    )
    assert table.calls == ["rebind.test"]
    assert seen == []


async def test_allowed_when_private_targets_are_allowed(served: Serve) -> None:
    port, _ = await served()
    table = TableResolver({"rebind.test": ["127.0.0.1"]})
    result = await _post(f"http://rebind.test:{port}/", allow_private=True, table=table)
    assert (result.kind, result.response_body) == (AttemptKind.SUCCESS, "hello")


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["93.184.216.34", "10.0.0.7"], "10.0.0.7, which is a private address (10.0.0.0/8)"),
        (["::ffff:127.0.0.1"], "embeds 127.0.0.1, a loopback address"),
        (["169.254.169.254"], "link-local"),
    ],
)
async def test_any_refused_answer_refuses_the_name(
    served: Serve, answers: list[str], reason: str
) -> None:
    port, seen = await served()
    table = TableResolver({"mixed.test": answers})
    result = await _post(f"https://mixed.test:{port}/", allow_private=False, table=table)
    assert result.kind is AttemptKind.REFUSED
    assert result.error is not None
    assert reason in result.error
    assert seen == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "0177.0.0.1", "2130706433"])
async def test_ip_literals_are_refused_by_the_session_itself(served: Serve, host: str) -> None:
    """Below `post_signed`'s URL check: the session vets the literal reqwest would dial."""
    port, seen = await served()
    async with ReqwestSession(allow_private=False, resolver=TableResolver({})) as session:
        with pytest.raises(OSError, match=r"^blocked: .* is "):
            async with session.post(
                f"http://{host}:{port}/",
                data=b"{}",
                headers={},
                timeout=aiohttp.ClientTimeout(total=5),
            ):
                pass
    assert seen == []


async def test_unknown_names_are_dns_errors(served: Serve) -> None:
    port, _ = await served()
    result = await _post(f"https://nowhere.test:{port}/", allow_private=False)
    assert result.kind is AttemptKind.NETWORK_ERROR
    assert result.error == "dns: could not resolve nowhere.test"


async def test_a_name_resolves_again_and_a_rebound_answer_is_refused(served: Serve) -> None:
    """With no TTL every request resolves and vets again; a pinned client never dials
    anything but the address it was built for."""
    port, seen = await served()
    table = TableResolver({"flip.test": ["127.0.0.1"]})
    async with ReqwestSession(allow_private=True, resolver=table, resolve_ttl_seconds=0) as s:
        for _ in range(2):
            async with s.post(
                f"http://flip.test:{port}/", data=b"", headers={}, timeout=aiohttp.ClientTimeout(5)
            ) as response:
                assert response.status == 200
    assert table.calls == ["flip.test", "flip.test"]
    strict = TableResolver({"flip.test": ["93.184.216.34"]})
    async with ReqwestSession(allow_private=False, resolver=strict, resolve_ttl_seconds=0) as s:
        await s._client_for("flip.test", port)  # pinned to a public address
        strict.table["flip.test"] = ["127.0.0.1"]  # the attacker's DNS flips
        with pytest.raises(OSError, match="loopback"):
            await s._client_for("flip.test", port)
    assert len(seen) == 2


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle, as HOOKLINE_CA_BUNDLE may be: another CA first, then the test CA."""
    path = tmp_path_factory.mktemp("ca") / "bundle.pem"
    path.write_bytes(trustme.CA().cert_pem.bytes() + ca.cert_pem.bytes())
    return path


@pytest_asyncio.fixture
async def tls_port(ca: trustme.CA, served: Serve) -> AsyncIterator[tuple[int, list[str]]]:
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)

    def sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = sni

    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"sni-ok {request.host}")

    port, _ = await served(ok, ssl_context=context)
    yield port, names


def _tls_table() -> TableResolver:
    return TableResolver({HOST: ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})


async def test_https_with_the_ca_bundle_pins_and_sends_sni(
    tls_port: tuple[int, list[str]], ca_file: Path
) -> None:
    port, names = tls_port
    url = f"https://{HOST}:{port}/"
    result = await _post(url, allow_private=True, table=_tls_table(), ca_bundle=str(ca_file))
    assert (result.kind, result.response_body) == (AttemptKind.SUCCESS, f"sni-ok {HOST}:{port}")
    assert names == [HOST]


async def test_https_without_the_ca_fails_verification(tls_port: tuple[int, list[str]]) -> None:
    port, _ = tls_port
    result = await _post(f"https://{HOST}:{port}/", allow_private=True, table=_tls_table())
    assert result.kind is AttemptKind.NETWORK_ERROR
    assert result.error is not None
    assert result.error.startswith("tls: certificate verification failed")


async def test_certificate_for_another_name_fails(
    tls_port: tuple[int, list[str]], ca_file: Path
) -> None:
    """The trusted CA is not enough: the certificate must be for the URL's host."""
    port, _ = tls_port
    url = f"https://other.example.test:{port}/secret-path"
    result = await _post(url, allow_private=True, table=_tls_table(), ca_bundle=str(ca_file))
    assert result.kind is AttemptKind.NETWORK_ERROR
    assert result.error is not None
    assert "not valid for name" in result.error
    assert "secret-path" not in result.error


async def test_a_redirect_is_not_followed(served: Serve) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        if request.path == "/next":
            return web.Response(text="followed")
        raise web.HTTPFound("/next")

    port, seen = await served(moved)
    result = await _post(f"http://127.0.0.1:{port}/hook", allow_private=True)
    assert (result.kind, result.status) == (AttemptKind.HTTP_ERROR, 302)
    assert seen == ["/hook"]


async def test_one_total_timeout_covers_a_dribbling_body(served: Serve) -> None:
    async def dribble(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):  # well within the read limit, far beyond the timeout
            await response.write(b"x")
            await asyncio.sleep(0.05)
        return response

    port, _ = await served(dribble)
    result = await _post(f"http://127.0.0.1:{port}/", allow_private=True, timeout=0.5)
    assert result.kind is AttemptKind.TIMEOUT


async def test_the_response_is_read_only_up_to_the_limit(served: Serve) -> None:
    sent = 0

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"y" * 65536
        try:
            for _ in range(4096):  # 256 MiB unless the client stops reading
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass
        return response

    port, _ = await served(flood)
    result = await _post(f"http://127.0.0.1:{port}/", allow_private=True, max_bytes=4096)
    assert result.kind is AttemptKind.SUCCESS
    assert result.response_body == "y" * 4096
    await asyncio.sleep(0.2)
    assert sent < 64 * 1024 * 1024  # the client stopped reading, and the server stopped


async def test_proxy_settings_in_the_environment_are_ignored(
    served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = await served()
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = await _post(f"http://127.0.0.1:{port}/", allow_private=True)
    assert result.kind is AttemptKind.SUCCESS
    assert seen == ["/"]


async def test_a_refused_connection_names_only_host_and_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    result = await _post(f"http://127.0.0.1:{port}/hooks/t0k3n?token=s3cr3t", allow_private=True)
    assert result.kind is AttemptKind.NETWORK_ERROR
    assert result.error is not None
    assert result.error.startswith(f"connect: 127.0.0.1:{port} ")
    assert "t0k3n" not in result.error
    assert "s3cr3t" not in result.error
