"""Reseller API keys (SPEC §7, issue 15): create (plaintext once), list, revoke, the admin's
same routes for any reseller, and `lastUsedAt` written in batches, not per request."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import event, select

from app.auth.usage import KeyUsage
from app.config import Settings
from app.main import create_app
from app.models import ApiKey
from tests.support.factories import ADMIN_HEADERS, Tenant, app_event, new_tenant


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_key(client: httpx.AsyncClient, tenant: Tenant, name: str) -> dict[str, Any]:
    response = await client.post("/v1/api-keys", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/api-keys", headers=bearer(key))
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_create_returns_the_key_once_and_it_works(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Keys")
    created = await new_key(client, tenant, "  CI deploys ")
    assert set(created) == {"id", "name", "prefix", "createdAt", "apiKey"}
    assert created["name"] == "CI deploys"
    assert created["apiKey"].startswith("hk_") and created["prefix"] == created["apiKey"][:12]
    me = await client.get("/v1/me", headers=bearer(created["apiKey"]))
    assert me.status_code == 200 and me.json()["id"] == tenant.reseller_id

    data = await listed(client, created["apiKey"])
    assert [k["name"] for k in data] == ["CI deploys", "Default"]  # newest first
    assert [k["current"] for k in data] == [True, False]
    assert all(
        set(k) == {"id", "name", "prefix", "createdAt", "lastUsedAt", "current"} for k in data
    )
    assert all("apiKey" not in k for k in data)
    # the same list seen with the first key: `current` follows the key making the request
    assert [k["current"] for k in await listed(client, tenant.api_key)] == [False, True]


async def test_bad_names_answer_422_and_create_nothing(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Names")
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": None},
        {"name": "ok", "admin": True},
        {"name": "nul\u0000"},
    ):
        response = await client.post("/v1/api-keys", json=body, headers=tenant.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    response = await client.post("/v1/api-keys", content=b"name=x", headers=tenant.headers)
    assert response.status_code == 415
    assert len(await listed(client, tenant.api_key)) == 1


async def test_revoked_key_answers_401_at_once_and_leaves_the_list(
    client: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(client, "Revoke")
    other = await new_key(client, tenant, "laptop")
    assert (await client.get("/v1/me", headers=bearer(other["apiKey"]))).status_code == 200

    response = await client.delete(f"/v1/api-keys/{other['id']}", headers=tenant.headers)
    assert response.status_code == 204 and response.content == b""
    refused = await client.get("/v1/me", headers=bearer(other["apiKey"]))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert [k["id"] for k in await listed(client, tenant.api_key)] != [other["id"]]
    assert other["id"] not in {k["id"] for k in await listed(client, tenant.api_key)}
    # revoked twice, or never existed: 404
    again = await client.delete(f"/v1/api-keys/{other['id']}", headers=tenant.headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    missing = await client.delete("/v1/api-keys/key_doesnotexist", headers=tenant.headers)
    assert missing.status_code == 404
    # another reseller's key is exactly as missing, and keeps working
    stranger = await new_tenant(client, "Stranger")
    stranger_second = await new_key(client, stranger, "second")
    foreign = await client.delete(f"/v1/api-keys/{stranger_second['id']}", headers=tenant.headers)
    assert foreign.status_code == 404 and foreign.json() == missing.json()
    assert (
        await client.get("/v1/me", headers=bearer(stranger_second["apiKey"]))
    ).status_code == 200


async def test_the_key_in_use_may_be_revoked_but_never_the_last(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Last")
    first_id = (await listed(client, tenant.api_key))[0]["id"]
    last = await client.delete(f"/v1/api-keys/{first_id}", headers=tenant.headers)
    assert last.status_code == 409 and last.json()["error"]["code"] == "conflict"
    assert (await client.get("/v1/me", headers=tenant.headers)).status_code == 200

    spare = await new_key(client, tenant, "spare")
    in_use = await client.delete(f"/v1/api-keys/{first_id}", headers=tenant.headers)
    assert in_use.status_code == 204
    assert (await client.get("/v1/me", headers=tenant.headers)).status_code == 401
    # the spare is now the last one
    response = await client.delete(f"/v1/api-keys/{spare['id']}", headers=bearer(spare["apiKey"]))
    assert response.status_code == 409
    assert [k["id"] for k in await listed(client, spare["apiKey"])] == [spare["id"]]


async def test_two_revocations_at_once_keep_one_key(client: httpx.AsyncClient) -> None:
    """Each check "another key stays" passes alone; together exactly one may win."""
    tenant = await new_tenant(client, "Race")
    second = await new_key(client, tenant, "second")
    first_id = next(k["id"] for k in await listed(client, tenant.api_key) if k["current"])
    both = await asyncio.gather(
        client.delete(f"/v1/api-keys/{first_id}", headers=tenant.headers),
        client.delete(f"/v1/api-keys/{second['id']}", headers=bearer(second["apiKey"])),
    )
    assert sorted(r.status_code for r in both) == [204, 409], [r.text for r in both]
    alive = [
        key
        for key in (tenant.api_key, second["apiKey"])
        if (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    ]
    assert len(alive) == 1
    assert len(await listed(client, alive[0])) == 1


async def test_admin_manages_any_resellers_keys(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Admin's")
    base = f"/v1/admin/resellers/{tenant.reseller_id}/api-keys"
    created = await client.post(base, json={"name": "support"}, headers=ADMIN_HEADERS)
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["apiKey"].startswith("hk_") and key["name"] == "support"
    assert (await client.get("/v1/me", headers=bearer(key["apiKey"]))).json()[
        "id"
    ] == tenant.reseller_id

    listing = await client.get(base, headers=ADMIN_HEADERS)
    assert listing.status_code == 200
    assert [(k["name"], k["current"]) for k in listing.json()["data"]] == [
        ("support", False),
        ("Default", False),
    ]
    # the operator may revoke every key, the last included: the tenant is locked out
    for listed_key in listing.json()["data"]:
        response = await client.delete(f"{base}/{listed_key['id']}", headers=ADMIN_HEADERS)
        assert response.status_code == 204
    assert (await client.get("/v1/me", headers=tenant.headers)).status_code == 401
    assert (await client.get(base, headers=ADMIN_HEADERS)).json()["data"] == []
    # and may give it a new one
    fresh = await client.post(base, json={"name": "recovered"}, headers=ADMIN_HEADERS)
    assert (await client.get("/v1/me", headers=bearer(fresh.json()["apiKey"]))).status_code == 200

    missing = "/v1/admin/resellers/rsl_doesnotexist/api-keys"
    for method in ("GET", "POST"):
        response = await client.request(method, missing, json={"name": "x"}, headers=ADMIN_HEADERS)
        assert response.status_code == 404, response.text
    other = await new_tenant(client, "Other")
    other_key = (await listed(client, other.api_key))[0]["id"]
    # a key id under the wrong reseller is missing
    wrong = await client.delete(f"{base}/{other_key}", headers=ADMIN_HEADERS)
    assert wrong.status_code == 404
    # a reseller key on the admin routes: the wrong kind of credential
    assert (await client.get(base, headers=tenant.headers)).status_code == 401  # all revoked
    assert (await client.get(base, headers=other.headers)).status_code == 403


# lastUsedAt: batched in memory, one statement per flush.


@pytest_asyncio.fixture
async def quiet_app(settings_factory: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    """An app whose periodic flush never comes during a test: the test flushes by hand."""
    application = create_app(settings_factory(key_usage_flush_seconds=3600))
    async with application.router.lifespan_context(application):
        yield application


def count_key_updates(app: FastAPI) -> list[int]:
    """Each UPDATE of `api_keys` the engine sends, as the number of rows' parameters."""
    seen: list[int] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            seen.append(len(params) if many else 1)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_last_used_is_written_once_per_flush_not_per_request(quiet_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=quiet_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as client:
        tenant = await new_tenant(client, "Usage")
        usage: KeyUsage = quiet_app.state.key_usage
        # the key made the organisation and now lists keys: used, not yet written
        assert all(k["lastUsedAt"] is None for k in await listed(client, tenant.api_key))
        await usage.flush(quiet_app.state.sessionmaker)

        updates = count_key_updates(quiet_app)
        for _ in range(25):
            assert (await client.get("/v1/me", headers=tenant.headers)).status_code == 200
            accepted = await client.post(
                "/v1/events", json=app_event(), headers=tenant.ingest_headers
            )
            assert accepted.status_code == 202
        assert updates == []  # 50 requests, not one write yet
        assert usage.pending == 2

        assert await usage.flush(quiet_app.state.sessionmaker) == 2
        assert updates == [2]  # one statement for both keys
        api_keys = await listed(client, tenant.api_key)
        assert api_keys[0]["lastUsedAt"] is not None
        org_keys = await client.get(
            f"/v1/organisations/{tenant.organisation_id}/ingest-keys", headers=tenant.headers
        )
        assert org_keys.json()["data"][0]["lastUsedAt"] is not None
        # since then only the API key was used (the two listings)
        assert await usage.flush(quiet_app.state.sessionmaker) == 1


async def test_the_periodic_flush_writes_last_use(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(key_usage_flush_seconds=0.2))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://hookline.test"
        ) as client:
            tenant = await new_tenant(client, "Periodic")
            async with application.state.sessionmaker() as session:
                for _ in range(100):  # at most 10 s
                    used = (
                        await session.execute(
                            select(ApiKey.last_used_at).where(
                                ApiKey.reseller_id == tenant.reseller_id, ApiKey.kind == "reseller"
                            )
                        )
                    ).scalar_one()
                    await session.rollback()
                    if used is not None:
                        break
                    await asyncio.sleep(0.1)
            assert used is not None
