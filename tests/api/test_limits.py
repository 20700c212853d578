"""Body limits before routing, credentials before the body, JSON or 415, the admin token
on the wrong route: black-box against uvicorn on loopback where the socket matters."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth.route import ApiRoute, early_auth_of
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import ADMIN_HEADERS, ADMIN_TOKEN, Tenant, app_event, new_tenant
from tests.support.raw_http import upload
from tests.support.server import RunningServer, serve

HUGE = 200 * 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(database_url)) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def tenant(server: RunningServer) -> Tenant:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await new_tenant(http, "Limits")


@pytest.mark.parametrize("path", ["/v1/admin/resellers", "/v1/webhooks", "/v1/events"])
async def test_a_declared_200_mb_body_is_refused_before_a_byte_is_sent(
    server: RunningServer, path: str
) -> None:
    answer = await upload(server.url, path, headers=JSON, total=HUGE, send_body=False)
    assert answer.status == 413, answer.body
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert answer.headers["connection"] == "close"
    assert answer.sent == 0


@pytest.mark.parametrize("path", ["/v1/admin/resellers", "/v1/webhooks", "/v1/events"])
async def test_an_unauthenticated_stream_is_refused_before_its_body_is_read(
    server: RunningServer, path: str
) -> None:
    """Chunked, so no length to judge by: the answer comes before any body byte is sent."""
    answer = await upload(server.url, path, headers=JSON, total=HUGE, chunked=True, send_body=False)
    assert answer.status == 401, answer.body
    assert answer.json()["error"]["code"] == "unauthorized"


async def test_an_authenticated_200_mb_stream_is_cut_at_the_limit(
    server: RunningServer, tenant: Tenant
) -> None:
    headers = {**JSON, **tenant.headers}
    answer = await upload(server.url, "/v1/webhooks", headers=headers, total=HUGE, chunked=True)
    assert answer.status == 413, answer.body
    assert answer.json()["error"]["code"] == "payload_too_large"
    # The server stopped reading at 64 KiB; what we got out before the answer is what the
    # kernel's socket buffers took, nowhere near the 200 MB.
    assert answer.sent < HUGE // 10


async def test_ingest_streams_get_the_event_limit(server: RunningServer, tenant: Tenant) -> None:
    """An ingest body may be far above the 64 KiB of other routes, and is still cut."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = app_event()
        body["data"][0]["tracking"]["app"]["name"] = "x" * (200 * 1024)
        response = await http.post("/v1/events", json=body, headers=tenant.ingest_headers)
        assert response.status_code == 202, response.text
    headers = {**JSON, **tenant.ingest_headers}
    answer = await upload(server.url, "/v1/events", headers=headers, total=HUGE, chunked=True)
    assert answer.status == 413, answer.body
    assert answer.sent < HUGE // 2


async def test_a_body_over_the_limit_is_413_in_process(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    response = await client.post(
        "/v1/webhooks", content=b" " * (64 * 1024 + 1), headers={**JSON, **tenant.headers}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_the_limit_is_a_setting(database_url: str) -> None:
    app = create_app(make_settings(database_url, max_body_bytes=2048))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            tenant = await new_tenant(http)
            headers = {**JSON, **tenant.headers}
            big = {"name": "n" * 3000, "url": "https://a.example.com", "events": []}
            response = await http.post("/v1/webhooks", json=big, headers=headers)
            assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    tenant = await new_tenant(client)
    headers = dict(tenant.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = b'{"name": "n", "url": "https://a.example.com", "events": []}'
    response = await client.post("/v1/webhooks", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert (await client.get("/v1/webhooks", headers=tenant.headers)).json()["data"] == []


async def test_json_variants_are_json(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        headers = {**tenant.headers, "Content-Type": content_type}
        response = await client.post("/v1/organisations", content=b'{"name": "o"}', headers=headers)
        assert response.status_code == 201, response.text


async def test_credentials_come_before_the_media_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/webhooks", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/me"), ("POST", "/v1/organisations"), ("GET", "/v1/webhooks")],
)
async def test_the_admin_token_on_a_reseller_route_is_403(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={"name": "x"}, headers=ADMIN_HEADERS)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
async def test_the_admin_token_on_an_ingest_route_is_403(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, json=app_event(), headers=ADMIN_HEADERS)
    assert response.status_code == 403, response.text
    assert "admin token" in response.json()["error"]["message"]
    assert ADMIN_TOKEN not in response.text


def test_every_route_with_a_body_authenticates_before_reading_it(database_url: str) -> None:
    """A new router without `route_class=ApiRoute` would parse bodies before credentials."""

    app = create_app(make_settings(database_url))
    routes = [context.route for context in iter_route_contexts(app.routes)]
    with_body = [r for r in routes if isinstance(r, APIRoute) and r.body_field is not None]
    assert len(with_body) >= 5
    for route in with_body:
        assert isinstance(route, ApiRoute), f"{route.path}: router needs route_class=ApiRoute"
        assert early_auth_of(route.dependant) is not None, route.path


async def test_the_live_feed_path_has_the_limit_too(server: RunningServer) -> None:
    """Socket.IO answers /socket.io/ before FastAPI's middleware; the limit is in front."""
    path = "/socket.io/?EIO=4&transport=polling"
    answer = await upload(server.url, path, headers=JSON, total=HUGE, send_body=False)
    assert answer.status == 413, answer.body
    assert answer.json()["error"]["code"] == "payload_too_large"
