"""The live feed end to end: real uvicorn, real python-socketio client, ingest over HTTP."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import socketio

from app.ops.metrics import CONNECTED_SOCKETS
from tests.conftest import make_settings
from tests.live.helpers import (
    ACTIVITY,
    APP,
    SCREENSHOT,
    activity_event,
    app_event,
    ingest,
    screenshot_event,
)
from tests.support.factories import new_tenant, new_webhook
from tests.support.live_client import LiveClient, live_client
from tests.support.server import RunningServer, serve


@pytest_asyncio.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(database_url)) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


async def _refusal(url: str, token: str | None) -> str:
    client = LiveClient(url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    assert client.connect_errors, "the server gave no reason"
    reason: str = client.connect_errors[0]["message"]
    return reason


async def test_refused_without_token(server: RunningServer) -> None:
    assert (await _refusal(server.url, None)).startswith("unauthorized")
    assert (await _refusal(server.url, "")).startswith("unauthorized")


async def test_refused_with_wrong_token(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Wrong")
    forged = tenant.api_key[:-4] + ("AAAA" if not tenant.api_key.endswith("AAAA") else "BBBB")
    assert (await _refusal(server.url, forged)).startswith("unauthorized")
    assert (await _refusal(server.url, "not-a-key")).startswith("unauthorized")


async def test_refused_with_ingest_key(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Ingest only")
    assert (await _refusal(server.url, tenant.ingest_key)).startswith("forbidden")


async def test_connected_sockets_gauge(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Gauge")
    before = CONNECTED_SOCKETS._value.get()
    async with live_client(server.url, tenant.api_key) as client:
        await client.wait_subscriptions(1)
        assert CONNECTED_SOCKETS._value.get() == before + 1
    # The server sees the disconnect shortly after the client leaves.
    for _ in range(100):
        if CONNECTED_SOCKETS._value.get() == before:
            break
        await client.sio.sleep(0.05)
    assert CONNECTED_SOCKETS._value.get() == before


async def test_subscriptions_follow_webhook_changes(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(http, "Subs")
    async with live_client(server.url, tenant.api_key) as client:
        assert await client.wait_subscriptions(1) == []
        first = await new_webhook(http, tenant, events=(ACTIVITY,))
        assert await client.wait_subscriptions(2) == [ACTIVITY]
        second = await new_webhook(http, tenant, events=(SCREENSHOT, APP))
        # Catalogue order, whatever the webhooks' order.
        assert await client.wait_subscriptions(3) == [APP, SCREENSHOT, ACTIVITY]
        response = await http.patch(
            f"/v1/webhooks/{second['id']}", json={"events": [APP]}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert await client.wait_subscriptions(4) == [APP, ACTIVITY]
        response = await http.patch(
            f"/v1/webhooks/{first['id']}", json={"enabled": False}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert await client.wait_subscriptions(5) == [APP]
        response = await http.delete(f"/v1/webhooks/{second['id']}", headers=tenant.headers)
        assert response.status_code == 204, response.text
        assert await client.wait_subscriptions(6) == []
    # A new connection is told the current state.
    async with live_client(server.url, tenant.api_key) as client:
        assert await client.wait_subscriptions(1) == []


async def test_desktop_event_fields(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Fields")
    await new_webhook(http, tenant, events=(APP,))
    async with live_client(server.url, tenant.api_key) as client:
        await client.wait_subscriptions(1)
        event_id = await ingest(http, tenant, app_event(user_id="user_7", team_id="team_3"))
        [message] = await client.wait_events(1)
    assert message["id"] == event_id
    assert message["event"] == APP
    assert message["parentOrganisationName"] == tenant.name
    assert message["organisationName"] == tenant.organisation_name
    assert (message["userId"], message["teamId"]) == ("user_7", "team_3")
    assert message["receivedAt"].endswith("Z")
    stored = (await http.get(f"/v1/events/{event_id}", headers=tenant.headers)).json()
    assert message["payload"] == stored["payload"]
    assert message["payload"]["eventId"] == event_id


async def test_only_subscribed_types_arrive(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Filter")
    await new_webhook(http, tenant, events=(APP,))
    async with live_client(server.url, tenant.api_key) as client:
        await client.wait_subscriptions(1)
        await ingest(http, tenant, activity_event())
        first = await ingest(http, tenant, app_event(user_id="u1"))
        await ingest(http, tenant, activity_event())
        # The feed keeps order, so once the marker arrives nothing else can follow it.
        marker = await ingest(http, tenant, app_event(user_id="marker"))
        await client.wait_events(2)
        assert [m["id"] for m in client.events] == [first, marker]


async def test_tenant_isolation(server: RunningServer, http: httpx.AsyncClient) -> None:
    a = await new_tenant(http, "Tenant A")
    b = await new_tenant(http, "Tenant B")
    for tenant in (a, b):
        await new_webhook(http, tenant)
    async with (
        live_client(server.url, a.api_key) as client_a,
        live_client(server.url, b.api_key) as client_b,
    ):
        await client_a.wait_subscriptions(1)
        await client_b.wait_subscriptions(1)
        a_ids = [await ingest(http, a, app_event(user_id=f"a{i}")) for i in range(3)]
        b_marker = await ingest(http, b, app_event(user_id="b-marker"))
        a_marker = await ingest(http, a, app_event(user_id="a-marker"))
        await client_b.wait_events(1)
        await client_a.wait_events(4)
        # Every A event was emitted before A's marker, which A has received; B got none.
        assert [m["id"] for m in client_a.events] == [*a_ids, a_marker]
        assert [m["id"] for m in client_b.events] == [b_marker]
        assert all(m["parentOrganisationName"] == "Tenant B" for m in client_b.events)


async def test_large_payload_is_summarised(server: RunningServer, http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Large")
    await new_webhook(http, tenant, events=(SCREENSHOT,))
    async with live_client(server.url, tenant.api_key) as client:
        await client.wait_subscriptions(1)
        event_id = await ingest(http, tenant, screenshot_event(200_000))
        small_id = await ingest(http, tenant, screenshot_event(1_000))
        large, small = await client.wait_events(2)
    assert (large["id"], small["id"]) == (event_id, small_id)
    payload = large["payload"]
    assert payload["truncated"] is True
    assert payload["size"] > 200_000
    summary = payload["summary"]
    assert summary["eventId"] == event_id
    assert summary["event"] == SCREENSHOT
    image = summary["data"][0]["screenshot"]["imageBuffer"]
    assert image.startswith("AAAA")
    assert image.endswith(" chars]")
    assert len(image) < 1000
    assert "truncated" not in small["payload"]
    assert small["payload"]["data"][0]["screenshot"]["imageBuffer"] == "A" * 1_000
