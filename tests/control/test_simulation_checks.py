"""Simulations that explain: the signature self-check against a real verifying receiver
(the seed's Express one, which refuses the mis-signed copy) and one that accepts anything,
and the timing breakdown on a fresh connection (http by IP and by name, https with a
test CA, a refused connection). No assertion on how long anything took: only which
phases happened and that they fit inside the total."""

import json
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import trustme
from aiohttp import web
from fastapi import FastAPI

from app.main import create_app
from app.wire.signature import verify
from tests.conftest import make_settings
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook
from tests.support.node import node_receiver
from tests.support.receiver import http_receiver

pytestmark = pytest.mark.timeout(60)
HOST = "localhost"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest_asyncio.fixture(scope="module")
async def relaxed(
    database_url: str, ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """Loopback targets allowed, the test CA trusted."""
    ca_file: Path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    application: FastAPI = create_app(
        make_settings(
            database_url,
            allow_private_targets=True,
            delivery_timeout_seconds=2,
            ca_bundle=str(ca_file),
        )
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def _simulate(
    client: httpx.AsyncClient, tenant: Tenant, webhook: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/webhooks/{webhook['id']}/simulate",
        json={"event": EVENT_TYPES[0]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _fits(timing: dict[str, Any]) -> None:
    """Every phase that happened is a duration inside the total."""
    done = [timing[k] for k in ("dns", "connect", "tls", "firstByte") if timing[k] is not None]
    assert all(value >= 0 for value in done)
    assert timing["total"] >= sum(done) > 0


async def test_a_verifying_receiver_refuses_the_mis_signed_copy(
    relaxed: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(relaxed)
    async with node_receiver() as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.url)
        await receiver.add_secret(webhook["secret"])
        result = await _simulate(relaxed, tenant, webhook)
        records = await receiver.wait_for(2)
    assert result["delivered"] is True and result["status"] == 200
    assert result["selfCheck"] == {
        "sent": True,
        "status": 401,
        "acceptedBadSignature": False,
        "error": "http: endpoint answered 401",
    }
    assert len(records) == 2


async def test_a_receiver_accepting_anything_is_caught(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver() as receiver:  # answers 200 to everything
        webhook = await new_webhook(relaxed, tenant, url=receiver.url("/hook"))
        result = await _simulate(relaxed, tenant, webhook)
        signed, forged = receiver.requests
    assert result["selfCheck"] == {
        "sent": True,
        "status": 200,
        "acceptedBadSignature": True,
        "error": None,
    }
    # the same payload, marked a simulation, only the signature wrong
    assert forged.body == signed.body
    assert json.loads(forged.body)["simulation"] is True
    assert json.loads(forged.body) == result["payload"]
    assert forged.headers["x-webhook-id"] != signed.headers["x-webhook-id"]
    assert signed.signature_ok(webhook["secret"]) and not forged.signature_ok(webhook["secret"])
    assert not verify(
        webhook["secret"],
        int(forged.headers["x-webhook-timestamp"]),
        forged.body,
        forged.headers["x-webhook-signature"],
    )
    timing = result["timing"]
    assert timing["dns"] is None  # an IP literal: nothing to look up
    assert timing["tls"] is None  # http://
    assert timing["connect"] is not None and timing["firstByte"] is not None
    _fits(timing)


async def test_timing_by_name_and_over_tls(relaxed: httpx.AsyncClient, ca: trustme.CA) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver() as receiver:
        url = receiver.url("/hook").replace("127.0.0.1", HOST)
        webhook = await new_webhook(relaxed, tenant, url=url)
        by_name = (await _simulate(relaxed, tenant, webhook))["timing"]
    assert by_name["dns"] is not None and by_name["tls"] is None
    _fits(by_name)

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_context)

    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        port = runner.addresses[0][1]
        webhook = await new_webhook(relaxed, tenant, url=f"https://{HOST}:{port}/hook")
        result = await _simulate(relaxed, tenant, webhook)
    finally:
        await runner.cleanup()
    assert result["delivered"] is True and result["selfCheck"]["acceptedBadSignature"] is True
    timing = result["timing"]
    assert None not in (timing["dns"], timing["connect"], timing["tls"], timing["firstByte"])
    _fits(timing)


async def test_no_answer_means_no_self_check(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        webhook = await new_webhook(relaxed, tenant, url=f"http://127.0.0.1:{port}/")
        result = await _simulate(relaxed, tenant, webhook)
    assert result["status"] is None and result["error"].startswith("connect:")
    assert result["selfCheck"] == {
        "sent": False,
        "status": None,
        "acceptedBadSignature": False,
        "error": None,
    }
    timing = result["timing"]
    assert (timing["connect"], timing["tls"], timing["firstByte"]) == (None, None, None)
    assert timing["total"] > 0
