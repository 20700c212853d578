"""Simulations against real receivers: 2xx, 500, connection refused, timeout, redirect,
an unsubscribed type (422), the network guard, and a signature that verifies."""

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from app.main import create_app
from app.wire.signature import verify
from tests.conftest import make_settings
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook
from tests.support.receiver import Reply, http_receiver


@pytest_asyncio.fixture(scope="module")
async def relaxed(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app allowing loopback targets, with a short timeout."""
    application: FastAPI = create_app(
        make_settings(database_url, allow_private_targets=True, delivery_timeout_seconds=0.5)
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def _simulate(
    client: httpx.AsyncClient, tenant: Tenant, webhook: dict[str, Any], event: str
) -> httpx.Response:
    return await client.post(
        f"/v1/webhooks/{webhook['id']}/simulate", json={"event": event}, headers=tenant.headers
    )


async def test_delivered_with_verifiable_signature(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver() as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.url("/hook"))
        response = await _simulate(relaxed, tenant, webhook, EVENT_TYPES[1])
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["delivered"] is True and result["status"] == 200
        assert result["error"] is None and result["latencyMs"] >= 0
        assert result["responseBody"] == "ok"
        request, mis_signed = receiver.requests  # the signed one, then the self-check's
    assert mis_signed.body == request.body
    assert not verify(
        webhook["secret"],
        int(mis_signed.headers["x-webhook-timestamp"]),
        mis_signed.body,
        mis_signed.headers["x-webhook-signature"],
    )
    assert request.headers["x-webhook-event"] == EVENT_TYPES[1]
    assert request.headers["x-webhook-signature"] == result["headers"]["x-webhook-signature"]
    timestamp = int(result["headers"]["x-webhook-timestamp"])
    assert verify(
        webhook["secret"], timestamp, request.body, result["headers"]["x-webhook-signature"]
    )
    sent = json.loads(request.body)
    assert sent == result["payload"]
    assert sent["simulation"] is True and sent["event"] == EVENT_TYPES[1]
    assert sent["parentOrganisation"] == {"id": tenant.reseller_id, "name": tenant.name}
    assert list(sent)[:6] == ["event", "version", "agent", "timestamp", "eventId", "simulation"]


async def test_endpoint_error_is_reported(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver(lambda _: Reply(500, "boom")) as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.base_url)
        result = (await _simulate(relaxed, tenant, webhook, EVENT_TYPES[0])).json()
    assert result["delivered"] is False and result["status"] == 500
    assert result["responseBody"] == "boom" and "500" in result["error"]


async def test_redirect_is_not_followed(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver(lambda _: Reply(302, "", {"Location": "/elsewhere"})) as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.base_url)
        result = (await _simulate(relaxed, tenant, webhook, EVENT_TYPES[0])).json()
        assert len(receiver.requests) == 2  # and the self-check's copy: neither followed
    assert result["delivered"] is False and result["status"] == 302
    assert "redirects are not followed" in result["error"]


async def test_connection_refused(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        webhook = await new_webhook(relaxed, tenant, url=f"http://127.0.0.1:{port}/")
        result = (await _simulate(relaxed, tenant, webhook, EVENT_TYPES[2])).json()
    assert result["delivered"] is False and result["status"] is None
    assert result["latencyMs"] is None and result["error"].startswith("connect:")


async def test_timeout(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver(lambda _: Reply(delay=3)) as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.base_url)
        result = (await _simulate(relaxed, tenant, webhook, EVENT_TYPES[0])).json()
    assert result["delivered"] is False and result["status"] is None
    assert result["error"].startswith("timeout")


async def test_unsubscribed_and_unknown_types_are_422(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(
        relaxed, tenant, url="http://127.0.0.1:9/", events=(EVENT_TYPES[0],)
    )
    for event in (EVENT_TYPES[1], "desktop.nope"):
        response = await _simulate(relaxed, tenant, webhook, event)
        assert response.status_code == 422
        assert "event" in response.json()["error"]["fields"]
        preview = await relaxed.get(
            f"/v1/webhooks/{webhook['id']}/simulate/preview",
            params={"event": event},
            headers=tenant.headers,
        )
        assert preview.status_code == 422


async def test_preview_is_the_sample_envelope(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant, url="http://127.0.0.1:9/")
    preview = await relaxed.get(
        f"/v1/webhooks/{webhook['id']}/simulate/preview",
        params={"event": EVENT_TYPES[2]},
        headers=tenant.headers,
    )
    assert preview.status_code == 200
    payload = preview.json()["payload"]
    assert payload["simulation"] is True
    assert payload["data"]["activity"] == {"workMode": True, "privacyMode": False}
    assert payload["organisation"] == {
        "id": tenant.organisation_id,
        "name": tenant.organisation_name,
    }


async def test_guard_applies_in_strict_mode(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A webhook saved while private targets were allowed is refused at send time."""
    from sqlalchemy import update

    from app.models import Webhook

    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Webhook).where(Webhook.id == webhook["id"]).values(url="https://127.0.0.1:9/")
        )
        await session.commit()
    result = (await _simulate(client, tenant, webhook, EVENT_TYPES[0])).json()
    assert result["delivered"] is False
    assert result["error"] == "blocked: 127.0.0.1 is a loopback address"
