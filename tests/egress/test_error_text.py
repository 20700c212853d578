"""A failed request's text never carries the webhook URL's path or query (where receivers
keep tokens): real failures against real sockets on loopback, through `describe_client_error`
and through a simulation's reported error and the log."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest

from app.egress.resolver import describe_client_error, without_paths
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import EVENT_TYPES, new_tenant, new_webhook
from tests.support.receiver import Reply, http_receiver

SECRET_PATH = "/hooks/t0k3n-in-path"
SECRET_QUERY = "?token=s3cr3t-in-query"
SECRETS = ("t0k3n-in-path", "s3cr3t-in-query")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}{SECRET_PATH}{SECRET_QUERY}"
    finally:
        server.close()
        await server.wait_closed()


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _short_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
    await writer.drain()
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    writer.close()


async def _failure(url: str, *, raise_for_status: bool = False) -> BaseException:
    async with aiohttp.ClientSession(raise_for_status=raise_for_status) as session:
        try:
            async with session.post(url, data=b"{}") as response:
                await response.read()
        except (aiohttp.ClientError, ValueError) as exc:
            return exc
    raise AssertionError("the request did not fail")


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


@pytest.mark.parametrize("handler", [_hang_up, _short_body, _garbage])
async def test_network_failures_never_carry_the_path(handler: Handler) -> None:
    async with raw_server(handler) as url:
        exc = await _failure(url)
    _clean(describe_client_error(exc))


async def test_an_http_error_keeps_status_and_reason_only() -> None:
    async with http_receiver(lambda _: Reply(503, "down")) as receiver:
        exc = await _failure(receiver.base_url + SECRET_PATH + SECRET_QUERY, raise_for_status=True)
    assert any(secret in str(exc) for secret in SECRETS)  # aiohttp's own text has the URL
    assert describe_client_error(exc) == "http: 503 Service Unavailable"


async def test_an_invalid_url_is_not_repeated() -> None:
    exc = await _failure("http://[::1" + SECRET_PATH + SECRET_QUERY)
    _clean(describe_client_error(exc))


async def test_a_refused_connection_names_only_host_and_port() -> None:
    async with raw_server(_hang_up) as url:
        pass  # closed: nothing listens on the port any more
    message = describe_client_error(await _failure(url))
    assert message.startswith("connect: 127.0.0.1:")
    _clean(message)


def test_other_text_keeps_only_origins() -> None:
    text = f"boom at https://hooks.example.com:8443{SECRET_PATH}{SECRET_QUERY} and more"
    assert without_paths(text) == "boom at https://hooks.example.com:8443 and more"
    _clean(describe_client_error(ValueError(text)))


async def test_a_simulation_reports_and_logs_no_path(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(database_url, allow_private_targets=True))
    async with app.router.lifespan_context(app), raw_server(_hang_up) as url:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            tenant = await new_tenant(http)
            webhook = await new_webhook(http, tenant, url=url)
            with caplog.at_level(logging.DEBUG):
                response = await http.post(
                    f"/v1/webhooks/{webhook['id']}/simulate",
                    json={"event": EVENT_TYPES[0]},
                    headers=tenant.headers,
                )
    result = response.json()
    assert result["delivered"] is False and result["error"], result
    _clean(result["error"])
    _clean("\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records))
