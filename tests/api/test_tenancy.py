"""Tenancy is absolute: reseller B gets 404 on every route for A's objects, and nothing
of A changes. The routes are read from the app itself, so new routes are covered."""

import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.factories import app_event, new_tenant, new_webhook

BODIES: dict[str, Any] = {
    "PATCH": {"name": "stolen", "url": "https://evil.example.com/", "enabled": False},
    "POST": {"event": "desktop.app_tracking.captured"},
}


def _id_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the public schema that takes an object id."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/") and "{" in path
        for method in operations
    ]


async def _snapshot(client: httpx.AsyncClient, headers: dict[str, str], webhook_id: str) -> Any:
    webhook = (await client.get(f"/v1/webhooks/{webhook_id}", headers=headers)).json()
    secret = (await client.get(f"/v1/webhooks/{webhook_id}/secret", headers=headers)).json()
    deliveries = (await client.get("/v1/deliveries", headers=headers)).json()
    return webhook, secret, deliveries


async def test_foreign_ids_answer_404_everywhere(app: FastAPI, client: httpx.AsyncClient) -> None:
    a = await new_tenant(client, "Alpha")
    b = await new_tenant(client, "Bravo")
    webhook = await new_webhook(client, a)
    ids = {"webhook_id": webhook["id"], "event_id": "evt_missing", "delivery_id": "dlv_missing"}
    accepted = await client.post("/v1/events", json=app_event(), headers=a.ingest_headers)
    if accepted.status_code == 202:
        ids["event_id"] = accepted.json()["id"]
        listing = (await client.get("/v1/deliveries", headers=a.headers)).json()["data"]
        ids["delivery_id"] = listing[0]["id"]
    before = await _snapshot(client, a.headers, webhook["id"])

    routes = _id_routes(app)
    assert routes, "no routes with ids found"
    for method, path in routes:
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        query = {"event": "desktop.app_tracking.captured"} if path.endswith("preview") else None
        response = await client.request(
            method, url, headers=b.headers, json=BODIES.get(method), params=query
        )
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "not_found"
        # the same request for a missing id answers the same way
        missing = re.sub(r"\{(\w+)\}", lambda m: m.group(1)[:3] + "_doesnotexist", path)
        response2 = await client.request(
            method, missing, headers=b.headers, json=BODIES.get(method), params=query
        )
        assert response2.status_code == 404 and response2.json() == response.json()

    assert await _snapshot(client, a.headers, webhook["id"]) == before


async def test_lists_show_only_own_objects(client: httpx.AsyncClient) -> None:
    a = await new_tenant(client, "Alpha")
    b = await new_tenant(client, "Bravo")
    await new_webhook(client, a)
    await client.post("/v1/events", json=app_event(), headers=a.ingest_headers)
    for path in ("/v1/webhooks", "/v1/organisations", "/v1/events", "/v1/deliveries"):
        response = await client.get(path, headers=b.headers)
        if response.status_code == 404 and path in ("/v1/events", "/v1/deliveries"):
            continue  # route not built yet in this checkout
        data = response.json()["data"]
        assert all(item.get("id") != a.organisation_id for item in data)
        if path != "/v1/organisations":
            assert data == []
        else:
            assert [o["id"] for o in data] == [b.organisation_id]
