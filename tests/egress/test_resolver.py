"""The connect-time guard: names resolving to private addresses are refused (rebinding),
IP literals are re-checked, and with private targets allowed the request goes through."""

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from app.egress.resolver import (
    BlockedAddressError,
    GuardedResolver,
    build_connector,
    describe_client_error,
    guard_url,
)
from tests.support.fake_dns import TableResolver


@pytest_asyncio.fixture
async def local_server() -> AsyncIterator[int]:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def _get(url: str, *, allow_private: bool, resolver: TableResolver) -> str:
    connector = build_connector(
        allow_private=allow_private, ca_bundle=None, limit=4, limit_per_host=2, resolver=resolver
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return await response.text()


async def test_rebinding_name_refused_in_strict_mode(local_server: int) -> None:
    resolver = TableResolver({"rebind.test": ["127.0.0.1"]})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://rebind.test:{local_server}/", allow_private=False, resolver=resolver)
    # aiohttp wraps the resolver's error; the reason survives the wrapping.
    assert isinstance(caught.value, aiohttp.ClientConnectorDNSError)
    blocked = caught.value.os_error
    assert isinstance(blocked, BlockedAddressError)
    assert (blocked.host, blocked.address) == ("rebind.test", "127.0.0.1")
    message = describe_client_error(caught.value)
    assert message == "blocked: host rebind.test resolved to 127.0.0.1, which is a loopback address"
    assert resolver.calls == ["rebind.test"]


async def test_allowed_when_private_targets_are_allowed(local_server: int) -> None:
    resolver = TableResolver({"rebind.test": ["127.0.0.1"]})
    body = await _get(f"http://rebind.test:{local_server}/", allow_private=True, resolver=resolver)
    assert body == "hello"


async def test_any_private_answer_refuses_the_name(local_server: int) -> None:
    resolver = TableResolver({"mixed.test": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://mixed.test:{local_server}/", allow_private=False, resolver=resolver)
    assert "10.0.0.7, which is a private address (10.0.0.0/8)" in describe_client_error(
        caught.value
    )


async def test_mapped_ipv6_answer_is_refused(local_server: int) -> None:
    resolver = TableResolver({"v6.test": ["::ffff:127.0.0.1"]})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://v6.test:{local_server}/", allow_private=False, resolver=resolver)
    assert "embeds 127.0.0.1, a loopback address" in describe_client_error(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
async def test_ip_literals_are_refused_at_connect(local_server: int, host: str) -> None:
    """aiohttp skips the resolver for literals; the socket factory still refuses them."""
    resolver = TableResolver({})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://{host}:{local_server}/", allow_private=False, resolver=resolver)
    assert isinstance(caught.value, aiohttp.ClientConnectorError)
    assert describe_client_error(caught.value).startswith(f"blocked: {host.strip('[]')} is ")
    assert resolver.calls == []


async def test_ip_literal_allowed_when_private_targets_are_allowed(local_server: int) -> None:
    body = await _get(
        f"http://127.0.0.1:{local_server}/", allow_private=True, resolver=TableResolver({})
    )
    assert body == "hello"


async def test_resolver_alone_refuses_and_passes() -> None:
    table = TableResolver({"ok.test": ["93.184.216.34"], "bad.test": ["169.254.169.254"]})
    guarded = GuardedResolver(allow_private=False, inner=table)
    assert [r["host"] for r in await guarded.resolve("ok.test", 443)] == ["93.184.216.34"]
    with pytest.raises(BlockedAddressError, match="link-local"):
        await guarded.resolve("bad.test", 443)
    relaxed = GuardedResolver(allow_private=True, inner=table)
    assert [r["host"] for r in await relaxed.resolve("bad.test", 443)] == ["169.254.169.254"]
    await guarded.close()


async def test_unknown_names_are_dns_errors(local_server: int) -> None:
    with pytest.raises(aiohttp.ClientConnectorDNSError) as caught:
        await _get(
            f"http://nowhere.test:{local_server}/", allow_private=False, resolver=TableResolver({})
        )
    assert describe_client_error(caught.value) == "dns: could not resolve nowhere.test"


async def test_every_connection_resolves_again(local_server: int) -> None:
    resolver = TableResolver({"flip.test": ["127.0.0.1"]})
    connector = build_connector(allow_private=True, ca_bundle=None, limit=4, resolver=resolver)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(2):
            async with session.get(
                f"http://flip.test:{local_server}/", headers={"Connection": "close"}
            ) as response:
                assert response.status == 200
    assert resolver.calls == ["flip.test", "flip.test"]


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/", "https://[::1]/", "https://2130706433/", "http://example.com/"],
)
def test_guard_url_rechecks_literals(url: str) -> None:
    with pytest.raises(BlockedAddressError, match=r"^blocked: "):
        guard_url(url, allow_private=False)


def test_guard_url_passes_public_names() -> None:
    guard_url("https://hooks.example.com/x", allow_private=False)


def test_ca_bundle_and_ssl_context_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        build_connector(
            allow_private=False,
            ca_bundle="x.pem",
            limit=1,
            ssl_context=ssl.create_default_context(),
        )


def test_describe_plain_errors() -> None:
    assert describe_client_error(TimeoutError()).startswith("timeout:")
    assert describe_client_error(ValueError("x")) == "error: ValueError: x"
