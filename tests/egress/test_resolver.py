"""The connect-time guard: names resolving to private addresses are refused (rebinding),
IP literals are re-checked, and with private targets allowed the request goes through."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from app.egress.resolver import (
    BlockedAddressError,
    build_connector,
    describe_client_error,
    guard_url,
)
from app.egress.tls import build_ssl_context
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
        allow_private=allow_private,
        ssl_context=build_ssl_context(None),
        limit=4,
        resolver=resolver,
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return await response.text()


async def test_rebinding_name_refused_in_strict_mode(local_server: int) -> None:
    resolver = TableResolver({"rebind.test": ["127.0.0.1"]})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://rebind.test:{local_server}/", allow_private=False, resolver=resolver)
    message = describe_client_error(caught.value)
    assert message == "blocked: rebind.test resolved to 127.0.0.1 is a loopback address"
    assert resolver.calls == ["rebind.test"]


async def test_allowed_when_private_targets_are_allowed(local_server: int) -> None:
    resolver = TableResolver({"rebind.test": ["127.0.0.1"]})
    body = await _get(f"http://rebind.test:{local_server}/", allow_private=True, resolver=resolver)
    assert body == "hello"


async def test_any_private_answer_refuses_the_name(local_server: int) -> None:
    resolver = TableResolver({"mixed.test": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(aiohttp.ClientError) as caught:
        await _get(f"http://mixed.test:{local_server}/", allow_private=False, resolver=resolver)
    assert "10.0.0.7 is a private address" in describe_client_error(caught.value)


async def test_every_connection_resolves_again(local_server: int) -> None:
    resolver = TableResolver({"flip.test": ["127.0.0.1"]})
    connector = build_connector(
        allow_private=True, ssl_context=build_ssl_context(None), limit=4, resolver=resolver
    )
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
