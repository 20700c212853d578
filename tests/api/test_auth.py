"""SPEC §2 authentication: 401 for missing/unknown credentials, 403 for the wrong kind."""

import httpx
import pytest

from tests.support.factories import ADMIN_HEADERS, app_event, new_tenant


async def test_missing_and_invalid_credentials_answer_401(client: httpx.AsyncClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer hk_not-a-real-key"},
        {"Authorization": "Basic x"},
    ):
        response = await client.get("/v1/webhooks", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_wrong_kind_of_key_answers_403(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    response = await client.get("/v1/webhooks", headers=tenant.ingest_headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    response = await client.post("/v1/events", json=app_event(), headers=tenant.headers)
    assert response.status_code == 403
    response = await client.get("/v1/admin/resellers", headers=tenant.headers)
    assert response.status_code == 403


async def test_admin_token_required_for_admin_routes(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/admin/resellers", json={"name": "X"})
    assert response.status_code == 401
    bad = {"Authorization": "Bearer wrong-admin-token-000000"}
    assert (await client.get("/v1/admin/resellers", headers=bad)).status_code == 401
    listing = await client.get("/v1/admin/resellers", headers=ADMIN_HEADERS)
    assert listing.status_code == 200


async def test_keys_are_returned_once_and_stored_hashed(client: httpx.AsyncClient, app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.models import ApiKey

    tenant = await new_tenant(client)
    assert tenant.api_key.startswith("hk_") and len(tenant.api_key) >= 40
    assert tenant.ingest_key.startswith("ik_")
    async with app.state.sessionmaker() as session:
        rows = (
            (await session.execute(select(ApiKey).where(ApiKey.reseller_id == tenant.reseller_id)))
            .scalars()
            .all()
        )
    stored = {row.key_hash for row in rows} | {row.prefix for row in rows}
    assert tenant.api_key not in stored and tenant.ingest_key not in stored
    assert {row.prefix for row in rows} == {tenant.api_key[:12], tenant.ingest_key[:12]}
    me = await client.get("/v1/me", headers=tenant.headers)
    assert me.json() == {"id": tenant.reseller_id, "name": tenant.name}


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_reseller_name_validation(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/v1/admin/resellers", json={"name": name}, headers=ADMIN_HEADERS)
    assert response.status_code == 422
    assert "name" in response.json()["error"]["fields"]


async def test_admin_api_disabled_without_token(database_url: str) -> None:
    from app.main import create_app
    from tests.conftest import make_settings

    application = create_app(make_settings(database_url, admin_token=None))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post(
                "/v1/admin/resellers", json={"name": "X"}, headers=ADMIN_HEADERS
            )
    assert response.status_code == 404
