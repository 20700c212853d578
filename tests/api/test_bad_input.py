"""Every bad input a clear answer: the JSON error shape, a 4xx naming each bad field, and
nothing changed; only an unreachable database answers 503; anything unexpected is a JSON
500 with the request id (the traceback only in the log)."""

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import ADMIN_HEADERS, new_tenant, new_webhook

INJECTION = "' OR 1=1 --"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": None}, "name"),
        ({"enabled": None}, "enabled"),
        ({"url": None}, "url"),
        ({"events": None}, "events"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
    ],
)
async def test_patch_refuses_null_and_coercion(
    client: httpx.AsyncClient, patch: dict[str, object], field: str
) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    path = f"/v1/webhooks/{webhook['id']}"
    response = await client.patch(path, json=patch, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["fields"]) == {field}
    after = (await client.get(path, headers=tenant.headers)).json()
    for key in ("name", "url", "events", "enabled", "updatedAt"):
        assert after[key] == webhook[key]


async def test_patch_limits_may_be_null(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    path = f"/v1/webhooks/{webhook['id']}"
    response = await client.patch(path, json={"maxInFlight": 3}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["maxInFlight"] == 3
    response = await client.patch(
        path, json={"maxInFlight": None, "ratePerSecond": None}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["maxInFlight"] is None and response.json()["ratePerSecond"] is None


async def test_every_field_error_in_one_422(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    body = {"name": "  ", "url": "http://10.0.0.1/hook", "events": ["nope"]}
    response = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"name", "url", "events"}, fields
    patch = {"name": "", "url": "ftp://example.com", "events": []}
    webhook = await new_webhook(client, tenant)
    response = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json=patch, headers=tenant.headers
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"name", "url", "events"}


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    """JSON with `\\uXXXX` escapes, as JavaScript sends a lone surrogate."""
    content = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json"}
    return await client.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800x"])
async def test_names_that_cannot_be_stored_are_422_never_503(
    client: httpx.AsyncClient, bad: str
) -> None:
    response = await _send(client, "POST", "/v1/admin/resellers", {"name": bad}, ADMIN_HEADERS)
    assert response.status_code == 422, response.text
    assert "name" in response.json()["error"]["fields"]
    tenant = await new_tenant(client)
    response = await _send(client, "POST", "/v1/organisations", {"name": bad}, tenant.headers)
    assert response.status_code == 422, response.text
    webhook = await new_webhook(client, tenant)
    path = f"/v1/webhooks/{webhook['id']}"
    response = await _send(client, "PATCH", path, {"name": bad}, tenant.headers)
    assert response.status_code == 422, response.text
    body = {"name": bad, "url": "https://a.example.com", "events": [webhook["events"][0]]}
    response = await _send(client, "POST", "/v1/webhooks", body, tenant.headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "path", ["/v1/events", "/v1/webhooks", "/v1/deliveries", "/v1/organisations"]
)
@pytest.mark.parametrize("cursor", [INJECTION, "AAAA", "not-base64!", "ZXZ0Xw"])
async def test_a_cursor_that_does_not_decode_is_422(
    client: httpx.AsyncClient, path: str, cursor: str
) -> None:
    tenant = await new_tenant(client)
    response = await client.get(path, params={"cursor": cursor}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"] == {"cursor": "Invalid cursor"}


async def test_a_cursor_we_issued_still_pages(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    for n in range(3):
        await new_webhook(client, tenant, name=f"w{n}")
    first = (await client.get("/v1/webhooks?limit=2", headers=tenant.headers)).json()
    rest = await client.get(
        "/v1/webhooks", params={"cursor": first["nextCursor"]}, headers=tenant.headers
    )
    assert rest.status_code == 200 and len(rest.json()["data"]) == 1


# -- unexpected errors and the database ---------------------------------------------------


def _with_failing_routes(app: FastAPI) -> FastAPI:
    async def boom() -> None:
        raise RuntimeError("secret detail that must stay in the log")

    async def bad_sql() -> None:
        async with app.state.sessionmaker() as session:
            await session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.add_api_route("/test/boom", boom)
    app.add_api_route("/test/bad-sql", bad_sql)
    return app


async def test_an_unexpected_error_is_a_json_500_with_the_request_id(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _with_failing_routes(create_app(make_settings(database_url)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            with caplog.at_level(logging.ERROR):
                response = await http.get("/test/boom", headers={"X-Request-ID": "req-boom-1"})
                refused = await http.get("/test/bad-sql")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Internal error", "requestId": "req-boom-1"}
    }
    assert response.headers["x-request-id"] == "req-boom-1"
    assert "secret detail" not in response.text
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)
    # A statement the database refuses is a bug to fix, not an outage: 500, never 503.
    assert refused.status_code == 500, refused.text
    assert refused.json()["error"]["code"] == "internal_error"


async def test_an_error_in_a_middleware_is_json_too(database_url: str) -> None:
    app = create_app(make_settings(database_url))

    class Broken:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        async def __call__(self, scope: object, receive: object, send: object) -> None:
            raise RuntimeError("middleware bug")

    app.add_middleware(Broken)  # outermost of all: only Starlette's own handler is outside
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/v1/me")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


async def test_only_an_unreachable_database_is_503(tmp_path: Path) -> None:
    # A database file in a directory that does not exist: every connection fails.
    missing = tmp_path / "gone" / "hookline.db"
    app = create_app(make_settings(f"sqlite+aiosqlite:///{missing}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/v1/me", headers={"Authorization": "Bearer hk_" + "a" * 43})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"
