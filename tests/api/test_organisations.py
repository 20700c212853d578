"""Organisations and their ingest keys (SPEC §7, issue 15): read, rename, disable (its keys
403, its history kept, the others unaffected); ingest keys added, rotated with and without
an overlap, revoked; expired and revoked keys answer 401."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.kit.ids import first_id_at
from app.kit.time import utc_now
from app.models import Event
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook

FIELDS = {"id", "name", "createdAt", "enabled", "eventsLast24h", "ingestKeys"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def ingest(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/v1/events", json=app_event(), headers=bearer(key))


async def organisation(client: httpx.AsyncClient, tenant: Tenant, org_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/organisations/{org_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def ingest_keys(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    path = f"/v1/organisations/{tenant.organisation_id}/ingest-keys"
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def add_key(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    path = f"/v1/organisations/{tenant.organisation_id}/ingest-keys"
    response = await client.post(path, json=body or {}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_read_and_list_carry_the_new_fields(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Fields")
    created = await client.post(
        "/v1/organisations", json={"name": "Second"}, headers=tenant.headers
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == FIELDS | {"ingestKey"}
    assert body["enabled"] is True and body["eventsLast24h"] == 0 and body["ingestKeys"] == 1

    for _ in range(3):
        assert (await ingest(client, tenant.ingest_key)).status_code == 202
    detail = await organisation(client, tenant, tenant.organisation_id)
    assert set(detail) == FIELDS
    assert detail["eventsLast24h"] == 3 and detail["ingestKeys"] == 1
    listing = (await client.get("/v1/organisations", headers=tenant.headers)).json()["data"]
    assert [(o["name"], o["eventsLast24h"]) for o in listing] == [("Second", 0), ("Fields Org", 3)]


async def test_events_older_than_24h_are_not_counted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client, "Old")
    assert (await ingest(client, tenant.ingest_key)).status_code == 202
    async with app.state.sessionmaker() as session:
        row = (
            await session.execute(
                select(Event).where(Event.organisation_id == tenant.organisation_id)
            )
        ).scalar_one()
        # the same event, as if accepted 25 h ago: its id carries its time
        old_id = first_id_at("evt", utc_now() - timedelta(hours=25))[:-1] + "1"
        session.add(
            Event(
                id=old_id,
                reseller_id=row.reseller_id,
                organisation_id=row.organisation_id,
                event_type=row.event_type,
                user_id=row.user_id,
                team_id=row.team_id,
                timestamp_ms=row.timestamp_ms,
                body=row.body,
                size=row.size,
            )
        )
        await session.commit()
    assert (await organisation(client, tenant, tenant.organisation_id))["eventsLast24h"] == 1


async def test_rename_and_bad_patches(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Rename")
    path = f"/v1/organisations/{tenant.organisation_id}"
    response = await client.patch(path, json={"name": "  Acme Desktops "}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Acme Desktops" and response.json()["enabled"] is True
    for body in (
        {"name": ""},
        {"name": None},
        {"name": "x" * 101},
        {"enabled": None},
        {"enabled": "no"},
        {"enabled": 0},
        {"url": "https://x.example.com/"},
    ):
        bad = await client.patch(path, json=body, headers=tenant.headers)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.json()["error"]["code"] == "validation_error"
    half = await client.patch(path, json={"name": "New", "enabled": "no"}, headers=tenant.headers)
    assert half.status_code == 422
    after = await organisation(client, tenant, tenant.organisation_id)
    assert after["name"] == "Acme Desktops" and after["enabled"] is True  # nothing half-written
    assert (await client.patch(path, json={}, headers=tenant.headers)).status_code == 200
    assert (await client.patch(path, content=b"x", headers=tenant.headers)).status_code == 415
    missing = await client.get("/v1/organisations/org_doesnotexist", headers=tenant.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_disabled_organisation_keys_answer_403_and_history_stays(
    client: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(client, "Disable")
    await new_webhook(client, tenant)
    assert (await ingest(client, tenant.ingest_key)).status_code == 202  # the verdict is cached
    sibling = await client.post(
        "/v1/organisations", json={"name": "Sibling"}, headers=tenant.headers
    )
    sibling_key = sibling.json()["ingestKey"]
    other = await new_tenant(client, "Unrelated")

    path = f"/v1/organisations/{tenant.organisation_id}"
    response = await client.patch(path, json={"enabled": False}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["enabled"] is False
    refused = await ingest(client, tenant.ingest_key)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "organisation_disabled"
    assert "disabled" in refused.json()["error"]["message"]
    batch = await client.post(
        "/v1/events/batch", json=[app_event()], headers=bearer(tenant.ingest_key)
    )
    assert batch.status_code == 403
    # a key added while disabled is refused the same way
    added = await add_key(client, tenant)
    assert (await ingest(client, added["ingestKey"])).status_code == 403

    # its history stays; the others carry on
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    assert len(events) == 1
    deliveries = (await client.get("/v1/deliveries", headers=tenant.headers)).json()["data"]
    assert len(deliveries) == 1
    assert (await organisation(client, tenant, tenant.organisation_id))["eventsLast24h"] == 1
    assert (await ingest(client, sibling_key)).status_code == 202
    assert (await ingest(client, other.ingest_key)).status_code == 202
    assert len((await client.get("/v1/deliveries", headers=tenant.headers)).json()["data"]) == 2

    response = await client.patch(path, json={"enabled": True}, headers=tenant.headers)
    assert response.json()["enabled"] is True
    assert (await ingest(client, tenant.ingest_key)).status_code == 202
    assert (await ingest(client, added["ingestKey"])).status_code == 202


async def test_added_key_leaves_the_old_one_valid(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Add")
    created = await add_key(client, tenant)
    assert set(created) == {"id", "prefix", "createdAt", "lastUsedAt", "expiresAt", "ingestKey"}
    assert created["ingestKey"].startswith("ik_") and created["expiresAt"] is None
    assert created["prefix"] == created["ingestKey"][:12]
    assert (await ingest(client, created["ingestKey"])).status_code == 202
    assert (await ingest(client, tenant.ingest_key)).status_code == 202
    keys = await ingest_keys(client, tenant)
    assert keys[0]["id"] == created["id"] and len(keys) == 2
    assert all(k["expiresAt"] is None and "ingestKey" not in k for k in keys)
    assert (await organisation(client, tenant, tenant.organisation_id))["ingestKeys"] == 2


async def test_rotation_without_overlap_refuses_the_old_keys_at_once(
    client: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(client, "Rotate0")
    second = await add_key(client, tenant)
    assert (await ingest(client, tenant.ingest_key)).status_code == 202  # cached verdicts
    assert (await ingest(client, second["ingestKey"])).status_code == 202
    rotated = await add_key(client, tenant, {"overlapSeconds": 0})
    for old in (tenant.ingest_key, second["ingestKey"]):
        refused = await ingest(client, old)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert (await ingest(client, rotated["ingestKey"])).status_code == 202
    assert [k["id"] for k in await ingest_keys(client, tenant)] == [rotated["id"]]
    assert (await organisation(client, tenant, tenant.organisation_id))["ingestKeys"] == 1


async def test_rotation_with_overlap_keeps_the_old_key_until_it_expires(
    client: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(client, "Overlap")
    before = utc_now()
    rotated = await add_key(client, tenant, {"overlapSeconds": 3600})
    assert (await ingest(client, tenant.ingest_key)).status_code == 202
    assert (await ingest(client, rotated["ingestKey"])).status_code == 202
    keys = {k["id"]: k for k in await ingest_keys(client, tenant)}
    assert keys[rotated["id"]]["expiresAt"] is None
    (old,) = (k for k in keys.values() if k["id"] != rotated["id"])
    assert old["expiresAt"] is not None
    ends = datetime.fromisoformat(old["expiresAt"])
    assert 3590 <= (ends - before).total_seconds() <= 3700

    # a second rotation with a longer overlap never extends the first one's end
    again = await add_key(client, tenant, {"overlapSeconds": 7200})
    keys = {k["id"]: k for k in await ingest_keys(client, tenant)}
    assert keys[old["id"]]["expiresAt"] == old["expiresAt"]
    assert keys[rotated["id"]]["expiresAt"] is not None and keys[again["id"]]["expiresAt"] is None

    # a short overlap: the old keys work, then are refused like revoked ones
    last = await add_key(client, tenant, {"overlapSeconds": 1})
    assert (await ingest(client, again["ingestKey"])).status_code == 202
    status = 202
    for _ in range(50):  # at most ~5 s
        status = (await ingest(client, again["ingestKey"])).status_code
        if status != 202:
            break
        await asyncio.sleep(0.1)
    assert status == 401
    assert (await ingest(client, last["ingestKey"])).status_code == 202
    assert [k["id"] for k in await ingest_keys(client, tenant)] == [last["id"]]


async def test_bad_ingest_key_bodies(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "BadKeys")
    path = f"/v1/organisations/{tenant.organisation_id}/ingest-keys"
    for body in (
        {"overlapSeconds": -1},
        {"overlapSeconds": 30 * 86_400 + 1},
        {"overlapSeconds": "soon"},
        {"overlapSeconds": None},
        {"overlap": 10},
        [],
    ):
        response = await client.post(path, json=body, headers=tenant.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert (await client.post(path, headers=tenant.headers)).status_code == 415
    assert len(await ingest_keys(client, tenant)) == 1  # nothing made, nothing rotated
    assert (await ingest(client, tenant.ingest_key)).status_code == 202
    missing = await client.post(
        "/v1/organisations/org_doesnotexist/ingest-keys", json={}, headers=tenant.headers
    )
    assert missing.status_code == 404
    # an ingest key is not a reseller key
    assert (await client.get(path, headers=tenant.ingest_headers)).status_code == 403


async def test_revoke_one_ingest_key(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "RevokeIk")
    spare = await add_key(client, tenant)
    first_id = next(k["id"] for k in await ingest_keys(client, tenant) if k["id"] != spare["id"])
    assert (await ingest(client, tenant.ingest_key)).status_code == 202  # cached verdict
    base = f"/v1/organisations/{tenant.organisation_id}/ingest-keys"
    response = await client.delete(f"{base}/{first_id}", headers=tenant.headers)
    assert response.status_code == 204
    assert (await ingest(client, tenant.ingest_key)).status_code == 401
    assert (await ingest(client, spare["ingestKey"])).status_code == 202
    assert (await client.delete(f"{base}/{first_id}", headers=tenant.headers)).status_code == 404
    # a key of another organisation of the same reseller is not under this one
    sibling = await client.post("/v1/organisations", json={"name": "Sib"}, headers=tenant.headers)
    sibling_keys = await client.get(
        f"/v1/organisations/{sibling.json()['id']}/ingest-keys", headers=tenant.headers
    )
    sibling_key_id = sibling_keys.json()["data"][0]["id"]
    wrong = await client.delete(f"{base}/{sibling_key_id}", headers=tenant.headers)
    assert wrong.status_code == 404
    assert (await ingest(client, sibling.json()["ingestKey"])).status_code == 202
    # the last key may go: the organisation then ingests nothing until a key is added
    assert (await client.delete(f"{base}/{spare['id']}", headers=tenant.headers)).status_code == 204
    assert (await ingest(client, spare["ingestKey"])).status_code == 401
    assert await ingest_keys(client, tenant) == []
    assert (await organisation(client, tenant, tenant.organisation_id))["ingestKeys"] == 0


async def test_a_rename_shows_in_the_next_events_envelope(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Envelope")
    first = await ingest(client, tenant.ingest_key)  # caches the names
    path = f"/v1/organisations/{tenant.organisation_id}"
    assert (await client.patch(path, json={"name": "Renamed"}, headers=tenant.headers)).is_success
    second = await ingest(client, tenant.ingest_key)
    names = []
    for accepted in (first, second):
        event = await client.get(f"/v1/events/{accepted.json()['id']}", headers=tenant.headers)
        assert event.status_code == 200, event.text
        names.append(event.json()["payload"]["organisation"]["name"])
    assert names == ["Envelope Org", "Renamed"]
