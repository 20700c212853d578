"""HTTPS deliveries verify certificates: a local TLS receiver with a test CA (trustme)
is reached only when HOOKLINE_CA_BUNDLE names that CA; SNI and the host name are real."""

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import trustme
from aiohttp import web

from app.egress.resolver import build_connector, describe_client_error
from app.egress.tls import build_ssl_context
from tests.support.fake_dns import TableResolver

HOST = "hooks.example.test"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest_asyncio.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[int]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_context)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=f"sni-ok {request.host}")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _get(port: int, ca_bundle: str | None, host: str = HOST) -> str:
    connector = build_connector(
        allow_private=True,
        ca_bundle=ca_bundle,
        limit=2,
        limit_per_host=1,
        resolver=TableResolver({HOST: ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}),
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"https://{host}:{port}/") as response:
            return await response.text()


async def test_https_with_the_test_ca_succeeds(tls_server: int, ca_file: Path) -> None:
    assert await _get(tls_server, str(ca_file)) == f"sni-ok {HOST}:{tls_server}"


async def test_https_without_the_ca_fails_verification(tls_server: int) -> None:
    with pytest.raises(aiohttp.ClientConnectorCertificateError) as caught:
        await _get(tls_server, None)
    assert describe_client_error(caught.value).startswith("tls: certificate verification failed")


async def test_certificate_for_another_name_fails(tls_server: int, ca_file: Path) -> None:
    """The trusted CA is not enough: the certificate must be for the URL's host (SNI)."""
    with pytest.raises(aiohttp.ClientConnectorCertificateError) as caught:
        await _get(tls_server, str(ca_file), host="other.example.test")
    assert "hostname" in describe_client_error(caught.value).lower()


def test_ssl_context_verifies_by_default(ca_file: Path) -> None:
    context = build_ssl_context(str(ca_file))
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    issuers = [dict(item[0] for item in ca["subject"]) for ca in context.get_ca_certs()]
    assert any("trustme" in str(issuer) for issuer in issuers)
