"""Structured logs through the real app: JSON lines, request ids, and no secret ever logged.

The session test runs at DEBUG with SQLAlchemy logging every statement and its
parameters (the webhook secret among them): the redaction has to catch what libraries log too.
"""

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.ops.logging import MASK, Redactor
from tests.conftest import make_settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import ADMIN_HEADERS, ADMIN_TOKEN, app_event, new_tenant, new_webhook
from tests.support.server import serve

REQUEST_ID = re.compile(r"req_[0-9a-f]{16}")


@pytest_asyncio.fixture(scope="module")
async def settings(databases: DatabaseFactory) -> Settings:
    # Logging does not depend on the database kind: SQLite only.
    return make_settings(await databases.fresh("sqlite"), log_json=True, log_level="DEBUG")


@pytest_asyncio.fixture(scope="module")
async def json_app(settings: Settings) -> AsyncIterator[FastAPI]:
    # An operator debugging SQL: every statement is logged with its parameters.
    sql_logger = logging.getLogger("sqlalchemy.engine")
    sql_level = sql_logger.level
    sql_logger.setLevel(logging.INFO)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        sql_logger.setLevel(sql_level)
        logging.getLogger().setLevel(logging.WARNING)  # later modules need not pay for DEBUG


@pytest_asyncio.fixture
async def http(json_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=json_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as client:
        yield client


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _has_route(app: FastAPI, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.routes)


async def _session(http: httpx.AsyncClient, app: FastAPI) -> list[str]:
    """A realistic session; returns every secret it saw."""
    tenant = await new_tenant(http, "Logged Reseller")
    seen = [ADMIN_TOKEN, tenant.api_key, tenant.ingest_key]
    org = await http.post("/v1/organisations", json={"name": "Second"}, headers=tenant.headers)
    seen.append(org.json()["ingestKey"])
    webhook = await new_webhook(http, tenant)
    seen.append(webhook["secret"])
    revealed = await http.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
    assert revealed.json()["secret"] == webhook["secret"]
    rotated = await http.post(f"/v1/webhooks/{webhook['id']}/secret/rotate", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    seen.append(rotated.json()["secret"])
    if _has_route(app, "/v1/events"):
        accepted = await http.post("/v1/events", json=app_event(), headers=tenant.ingest_headers)
        assert accepted.status_code == 202, accepted.text
    # Errors: a wrong key, the wrong kind of key, a key in a query string, bad input.
    forged = "hk_" + "A" * 43
    seen.append(forged)
    wrong = await http.get("/v1/webhooks", headers={"Authorization": f"Bearer {forged}"})
    assert wrong.status_code == 401
    assert (await http.get("/v1/webhooks", headers=tenant.ingest_headers)).status_code == 403
    leaked = await http.get(f"/v1/webhooks?apiKey={tenant.api_key}", headers=tenant.headers)
    assert leaked.status_code == 200
    bad = await http.post(
        "/v1/webhooks", json={"name": "", "url": "ftp://x", "events": []}, headers=tenant.headers
    )
    assert bad.status_code == 422
    # Our own code logging a key by mistake is caught too.
    logging.getLogger("app.careless").warning("made key %s for %s", tenant.api_key, tenant.name)
    logging.getLogger("app.careless").info("headers", extra={"auth": tenant.headers})
    return seen


async def test_no_secret_reaches_the_logs(
    http: httpx.AsyncClient, json_app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = await _session(http, json_app)
    output = capsys.readouterr().err
    lines = _lines(output)
    assert len(lines) > 10
    assert any(line["logger"].startswith("sqlalchemy.engine") for line in lines)
    for secret in seen:
        assert secret not in output, f"a secret starting {secret[:6]} was logged"
        assert secret[8:] not in output  # not even its tail
    careless = [line for line in lines if line["logger"] == "app.careless"]
    assert careless[0]["message"] == f"made key hk_{MASK} for Logged Reseller"
    assert MASK in str(careless[1]["auth"])


async def test_access_line_and_request_id(
    http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = await http.get("/v1/me?token=abc", headers={"Authorization": "Bearer hk_nope123"})
    assert response.status_code == 401
    request_id = response.headers["x-request-id"]
    assert REQUEST_ID.fullmatch(request_id)
    lines = _lines(capsys.readouterr().err)
    access = [line for line in lines if line["logger"] == "hookline.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/me", 401)
    assert isinstance(line["duration_ms"], float)
    assert set(line) >= {"time", "level", "logger", "message", "request_id"}
    assert line["time"].endswith("Z")
    # Every line written while serving the request carries its id (SQL included); not the
    # test client's own line, nor aiosqlite's, written from its worker thread.
    served = [entry for entry in lines if entry["logger"] not in ("httpx", "aiosqlite")]
    assert any(entry["logger"].startswith("sqlalchemy.engine") for entry in served)
    assert all(entry["request_id"] == request_id for entry in served)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123.DEF_456", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("semi;colon", False),
        ("", False),
    ],
)
async def test_incoming_request_id(http: httpx.AsyncClient, incoming: str, kept: bool) -> None:
    response = await http.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.status_code == 200
    returned = response.headers.get_list("x-request-id")
    assert len(returned) == 1
    if kept:
        assert returned[0] == incoming
    else:
        assert REQUEST_ID.fullmatch(returned[0])


async def test_request_id_through_uvicorn_and_socketio_wrapper(settings: Settings) -> None:
    """The production ASGI app (Socket.IO around FastAPI) under a real uvicorn."""
    async with serve(settings.model_copy(update={"log_level": "WARNING"})) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            health = await client.get("/healthz", headers={"X-Request-ID": "proxy-42"})
            assert health.headers["x-request-id"] == "proxy-42"
            polling = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            assert polling.status_code == 200  # the Socket.IO handshake is untouched


@pytest.mark.parametrize(
    "text",
    [
        "key hk_0123456789abcdefABCDEF_-xyz0123456789abcdefghij",
        "ingest ik_0123456789abcdefABCDEF_-xyz0123456789abcdefghij",
        "admin adm_Zq3kR0mT0kenValue_123",
        "Authorization: Bearer some.jwt.value",
        "{'secret': 'short-but-named'}",
        '{"apiKey": "whatever"}',
        "rotated to " + "Ab_-" * 10 + "xyz",
    ],
)
def test_redactor_masks(text: str) -> None:
    redacted = Redactor()(text)
    assert MASK in redacted
    for secret in ("0123456789abcdef", "Zq3kR0m", "jwt.value", "short-but", "whatever", "Ab_-Ab"):
        assert secret not in redacted


def test_redactor_keeps_ordinary_text() -> None:
    text = "GET /v1/webhooks/whk_01jabcdefghjkmnpqrstvwxyz0 200 desktop.app_tracking.captured"
    assert Redactor()(text) == text
    assert Redactor(("literal-admin-token",))("t=literal-admin-token!") == f"t={MASK}!"


async def test_admin_request_is_logged_without_the_token(
    http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    created = await http.post("/v1/admin/resellers", json={"name": "Other"}, headers=ADMIN_HEADERS)
    assert created.status_code == 201
    output = capsys.readouterr().err
    assert ADMIN_TOKEN not in output
    assert created.json()["apiKey"] not in output
