"""Webhook management: create, list newest first, read, PATCH, DELETE, secrets."""

import httpx
import pytest

from tests.support.factories import EVENT_TYPES, new_tenant, new_webhook


async def test_create_returns_masked_and_full_secret(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant, name="  Billing  ")
    assert webhook["id"].startswith("whk_")
    assert webhook["name"] == "Billing"
    assert webhook["events"] == list(EVENT_TYPES)
    assert webhook["enabled"] is True
    secret = webhook["secret"]
    assert len(secret) >= 43 and all(c.isalnum() or c in "-_" for c in secret)
    assert webhook["secretMasked"] == secret[:8] + "•" * 24
    read = (await client.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert "secret" not in read and read["secretMasked"] == webhook["secretMasked"]
    revealed = await client.get(f"/v1/webhooks/{webhook['id']}/secret", headers=tenant.headers)
    assert revealed.json() == {"secret": secret}


async def test_list_is_newest_first_with_cursor(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    ids = [(await new_webhook(client, tenant, name=f"W{i}"))["id"] for i in range(5)]
    page = (await client.get("/v1/webhooks?limit=3", headers=tenant.headers)).json()
    assert [w["id"] for w in page["data"]] == ids[::-1][:3]
    rest = await client.get(
        f"/v1/webhooks?limit=3&cursor={page['nextCursor']}", headers=tenant.headers
    )
    assert [w["id"] for w in rest.json()["data"]] == ids[::-1][3:]
    assert rest.json()["nextCursor"] is None


async def test_patch_updates_fields(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    response = await client.patch(
        f"/v1/webhooks/{webhook['id']}",
        json={"name": "Renamed", "url": "https://other.example.org/h", "events": [EVENT_TYPES[2]]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["url"], body["events"]) == (
        "Renamed",
        "https://other.example.org/h",
        [EVENT_TYPES[2]],
    )
    disabled = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert disabled.json()["enabled"] is False and disabled.json()["disabledReason"]
    enabled = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["enabled"] is True and enabled.json()["disabledReason"] is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"url": "http://hooks.example.com/x"}, "url"),
        ({"url": "https://127.0.0.1/x"}, "url"),
        ({"url": "https://10.0.0.5/x"}, "url"),
        ({"url": "https://localhost/x"}, "url"),
        ({"name": "  "}, "name"),
        ({"events": []}, "events"),
        ({"events": ["desktop.unknown"]}, "events"),
        ({"events": [EVENT_TYPES[0], EVENT_TYPES[0]]}, "events"),
        ({"name": "ok", "url": "https://192.168.1.1/"}, "url"),
    ],
)
async def test_bad_patch_changes_nothing(
    client: httpx.AsyncClient, patch: dict[str, object], field: str
) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    response = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json=patch, headers=tenant.headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]
    after = (await client.get(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)).json()
    assert after == {k: v for k, v in webhook.items() if k != "secret"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "url": "https://a.example.com", "events": [EVENT_TYPES[0]]}, "name"),
        ({"name": "x" * 101, "url": "https://a.example.com", "events": [EVENT_TYPES[0]]}, "name"),
        ({"name": "n", "url": "ftp://a.example.com", "events": [EVENT_TYPES[0]]}, "url"),
        ({"name": "n", "url": "https://user:pw@a.example.com", "events": [EVENT_TYPES[0]]}, "url"),
        ({"name": "n", "url": "https://169.254.169.254/latest", "events": [EVENT_TYPES[0]]}, "url"),
        (
            {"name": "n", "url": "https://a.example.com/" + "x" * 2048, "events": [EVENT_TYPES[0]]},
            "url",
        ),
        ({"name": "n", "url": "https://a.example.com", "events": []}, "events"),
        ({"name": "n", "url": "https://a.example.com"}, "events"),
        ({"name": "n", "url": "https://a.example.com", "events": [EVENT_TYPES[0]], "x": 1}, "x"),
    ],
)
async def test_create_validation_messages(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    tenant = await new_tenant(client)
    response = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]
    listing = await client.get("/v1/webhooks", headers=tenant.headers)
    assert listing.json()["data"] == []


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    response = await client.post(
        "/v1/webhooks",
        content=b"{not json",
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_delete_and_rotate(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    rotated = await client.post(
        f"/v1/webhooks/{webhook['id']}/secret/rotate", headers=tenant.headers
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert (
        new_secret != webhook["secret"]
        and rotated.json()["secretMasked"] == new_secret[:8] + "•" * 24
    )
    deleted = await client.delete(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/secret")):
        response = await client.request(
            method,
            f"/v1/webhooks/{webhook['id']}{path}",
            headers=tenant.headers,
            json={"name": "x"} if method == "PATCH" else None,
        )
        assert response.status_code == 404
    assert (await client.get("/v1/webhooks", headers=tenant.headers)).json()["data"] == []


async def test_event_types_catalogue(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    catalogue = (await client.get("/v1/event-types", headers=tenant.headers)).json()["data"]
    assert [t["type"] for t in catalogue] == list(EVENT_TYPES)
    assert [t["colour"] for t in catalogue] == ["blue", "orange", "green"]
    for entry in catalogue:
        assert entry["schema"]["type"] in ("array", "object") and entry["sample"]


async def test_organisations(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    created = await client.post(
        "/v1/organisations", json={"name": "Second"}, headers=tenant.headers
    )
    assert created.status_code == 201 and created.json()["ingestKey"].startswith("ik_")
    listing = (await client.get("/v1/organisations", headers=tenant.headers)).json()["data"]
    assert [o["name"] for o in listing] == ["Second", tenant.organisation_name]
    assert all("ingestKey" not in o for o in listing)
