"""Routing by organisation: `organisationIds` on webhooks, validated against the reseller's
own organisations and honoured at fan-out by both ingest writers (SQLite's SQLAlchemy
path, PostgreSQL's asyncpg statements) for single events and batches."""

from dataclasses import replace

import httpx
from fastapi import FastAPI

from tests.support.deliveries import deliveries_of
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook


async def second_organisation(client: httpx.AsyncClient, tenant: Tenant) -> Tenant:
    """The same reseller with another organisation (and its ingest key)."""
    response = await client.post(
        "/v1/organisations", json={"name": "Second Org"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    org = response.json()
    return replace(
        tenant,
        organisation_id=org["id"],
        organisation_name=org["name"],
        ingest_key=org["ingestKey"],
    )


async def test_routed_webhooks_get_only_their_organisations(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await new_tenant(client)
    second = await second_organisation(client, first)
    everyone = await new_webhook(client, first, name="All")
    only_first = await new_webhook(
        client, first, name="First", organisationIds=[first.organisation_id]
    )
    both = await new_webhook(
        client,
        first,
        name="Both",
        organisationIds=[second.organisation_id, first.organisation_id],
    )
    assert everyone["organisationIds"] == []
    assert only_first["organisationIds"] == [first.organisation_id]
    assert both["organisationIds"] == [second.organisation_id, first.organisation_id]

    one = await client.post("/v1/events", json=app_event(), headers=first.ingest_headers)
    assert one.status_code == 202 and one.json()["deliveries"] == 3
    other = await client.post("/v1/events", json=app_event(), headers=second.ingest_headers)
    assert other.status_code == 202 and other.json()["deliveries"] == 2
    batch = await client.post(
        "/v1/events/batch",
        json={"events": [app_event(user_id="u1"), app_event(user_id="u2")]},
        headers=second.ingest_headers,
    )
    assert batch.status_code == 202 and batch.json()["deliveries"] == 4

    def events(rows: list) -> set[str]:  # type: ignore[type-arg]
        return {d.event_id for d in rows}

    first_events = {one.json()["id"]}
    second_events = {other.json()["id"], *batch.json()["ids"]}
    assert events(await deliveries_of(app, everyone["id"])) == first_events | second_events
    assert events(await deliveries_of(app, only_first["id"])) == first_events
    assert events(await deliveries_of(app, both["id"])) == first_events | second_events

    # edited: now only the second organisation
    patched = await client.patch(
        f"/v1/webhooks/{only_first['id']}",
        json={"organisationIds": [second.organisation_id]},
        headers=first.headers,
    )
    assert patched.status_code == 200 and patched.json()["organisationIds"] == [
        second.organisation_id
    ]
    later = await client.post("/v1/events", json=app_event(), headers=first.ingest_headers)
    assert later.json()["deliveries"] == 2  # everyone, both
    assert events(await deliveries_of(app, only_first["id"])) == first_events


async def test_patch_semantics(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant, organisationIds=[tenant.organisation_id])
    url = f"/v1/webhooks/{webhook['id']}"
    renamed = await client.patch(url, json={"name": "Renamed"}, headers=tenant.headers)
    assert renamed.json()["organisationIds"] == [tenant.organisation_id]  # absent: unchanged
    cleared = await client.patch(url, json={"organisationIds": []}, headers=tenant.headers)
    assert cleared.json()["organisationIds"] == []
    await client.patch(
        url, json={"organisationIds": [tenant.organisation_id]}, headers=tenant.headers
    )
    nulled = await client.patch(url, json={"organisationIds": None}, headers=tenant.headers)
    assert nulled.json()["organisationIds"] == []
    read = await client.get(url, headers=tenant.headers)
    assert read.json()["organisationIds"] == []


async def test_unknown_or_foreign_organisations_are_refused(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Alpha")
    stranger = await new_tenant(client, "Bravo")
    webhook = await new_webhook(client, tenant, organisationIds=[tenant.organisation_id])
    messages = []
    for ids in (
        [stranger.organisation_id],
        ["org_doesnotexist"],
        [tenant.organisation_id, stranger.organisation_id],
    ):
        created = await client.post(
            "/v1/webhooks",
            json={
                "name": "x",
                "url": "https://hooks.example.com/x",
                "events": ["desktop.app_tracking.captured"],
                "organisationIds": ids,
            },
            headers=tenant.headers,
        )
        assert created.status_code == 422, created.text
        error = created.json()["error"]
        assert error["code"] == "validation_error" and "organisationIds" in error["fields"]
        messages.append(error["message"].split(":")[0])
        patched = await client.patch(
            f"/v1/webhooks/{webhook['id']}",
            json={"organisationIds": ids, "name": "changed"},
            headers=tenant.headers,
        )
        assert patched.status_code == 422 and "organisationIds" in patched.json()["error"]["fields"]
    # another reseller's id and a made-up one are refused alike: nothing tells them apart
    assert len(set(messages)) == 1
    for bad in ([tenant.organisation_id] * 2, ["x" * 65], "org_1", [1]):
        patched = await client.patch(
            f"/v1/webhooks/{webhook['id']}", json={"organisationIds": bad}, headers=tenant.headers
        )
        assert patched.status_code == 422, (bad, patched.text)
    listed = (await client.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
    assert [(w["name"], w["organisationIds"]) for w in listed] == [
        ("Main endpoint", [tenant.organisation_id])
    ]
