"""Ingest and event history through the HTTP contract, on SQLite and PostgreSQL."""

import json
from typing import Any

import httpx
import pytest

from tests.support.factories import Tenant, app_event, new_tenant, new_webhook

ACTIVITY = "desktop.activity_tracking.captured"


@pytest.fixture(scope="module")
async def tenant(client: httpx.AsyncClient) -> Tenant:
    tenant = await new_tenant(client, "Events Reseller")
    await new_webhook(client, tenant, name="All types")
    await new_webhook(client, tenant, name="Activity only", events=(ACTIVITY,))
    return tenant


async def _post(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {**tenant.ingest_headers, "Content-Type": "application/json"}
    return await client.post("/v1/events", content=raw, headers=headers)


async def test_accepts_an_event_with_defaults_and_fans_out(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await _post(client, tenant, {**app_event(user_id="u-1"), "teamId": 42})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"].startswith("evt_")
    assert body["deliveries"] == 1  # only the webhook subscribed to app tracking
    event = (await client.get(f"/v1/events/{body['id']}", headers=tenant.headers)).json()
    payload = event["payload"]
    assert payload["version"] == "v1"
    assert payload["agent"] == "desktop-agent"
    assert payload["simulation"] is False
    assert payload["eventId"] == body["id"]
    assert payload["parentOrganisation"] == {"id": tenant.reseller_id, "name": tenant.name}
    assert payload["organisation"] == {
        "id": tenant.organisation_id,
        "name": tenant.organisation_name,
    }
    assert payload["userId"] == "u-1"
    assert payload["teamId"] == 42
    assert abs(payload["timestamp"] - event["timestamp"]) == 0
    assert event["size"] > 100


async def test_activity_event_reaches_both_webhooks_and_keeps_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "event": ACTIVITY,
        "userId": 7,
        "teamId": "t",
        "data": {"activity": {"workMode": True, "privacyMode": False}},
        "timestamp": 1769591645035,
        "version": "v2",
        "agent": "custom-agent",
    }
    response = await _post(client, tenant, body)
    assert response.status_code == 202, response.text
    assert response.json()["deliveries"] == 2
    event = (await client.get(f"/v1/events/{response.json()['id']}", headers=tenant.headers)).json()
    assert event["timestamp"] == 1769591645035
    assert event["payload"]["version"] == "v2"
    assert event["payload"]["agent"] == "custom-agent"
    assert event["payload"]["data"] == body["data"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "desktop.unknown"}, "event"),
        ({"event": None}, "event"),
        ({"userId": ""}, "userId"),
        ({"userId": "   "}, "userId"),
        ({"userId": True}, "userId"),
        ({"userId": 1.5}, "userId"),
        ({"userId": None}, "userId"),
        ({"teamId": ["t"]}, "teamId"),
        ({"teamId": "x" * 257}, "teamId"),
        ({"data": "text"}, "data"),
        ({"data": [1, 2]}, "data"),
        ({"data": [{"a": 1}, "b"]}, "data"),
        ({"data": None}, "data"),
        ({"timestamp": "2026-01-28"}, "timestamp"),
        ({"timestamp": -1}, "timestamp"),
        ({"timestamp": 1.5}, "timestamp"),
        ({"version": ""}, "version"),
        ({"agent": 3}, "agent"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_refuses_invalid_fields(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    response = await _post(client, tenant, app_event(**change))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


@pytest.mark.parametrize("missing", ["event", "userId", "teamId", "data"])
async def test_refuses_missing_required_fields(
    client: httpx.AsyncClient, tenant: Tenant, missing: str
) -> None:
    body = app_event()
    del body[missing]
    response = await _post(client, tenant, body)
    assert response.status_code == 422
    assert missing in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"data":[{"n":9007199254740993}]', "data[0].n"),
        ('"data":[{"n":-9007199254740992}]', "data[0].n"),
        ('"data":[{"n":NaN}]', "data[0].n"),
        ('"data":[{"n":Infinity}]', "data[0].n"),
        ('"data":[{"n":1e400}]', "data[0].n"),
        ('"data":[{"n":' + "[" * 70 + "]" * 70 + "}]", "data[0].n"),
    ],
)
async def test_refuses_numbers_javascript_cannot_carry(
    client: httpx.AsyncClient, tenant: Tenant, raw: str, field: str
) -> None:
    text = '{"event":"desktop.app_tracking.captured","userId":"u","teamId":"t",' + raw + "}"
    response = await _post(client, tenant, text)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert any(key.startswith(field) for key in fields), fields


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1,2]", b'"event"', b"\xff\xfe", b'{"event": }']
)
async def test_refuses_bodies_that_are_not_an_event_object(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    response = await _post(client, tenant, raw)
    assert response.status_code == 422, response.text


async def test_keeps_safe_integers_and_exact_floats(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    text = (
        '{"event":"desktop.app_tracking.captured","userId":9007199254740991,"teamId":"t",'
        '"data":[{"max":9007199254740991,"min":-9007199254740991,"f":1.0,"e":1e21,"z":-0.0}]}'
    )
    response = await _post(client, tenant, text)
    assert response.status_code == 202, response.text
    event = (await client.get(f"/v1/events/{response.json()['id']}", headers=tenant.headers)).json()
    assert event["userId"] == "9007199254740991"
    assert event["payload"]["userId"] == 9007199254740991
    assert event["payload"]["data"][0]["max"] == 9007199254740991


async def test_body_over_the_limit_is_413_before_parsing(
    client: httpx.AsyncClient, tenant: Tenant, app: Any
) -> None:
    limit = app.state.settings.max_event_bytes
    big = b'{"event":"' + b"x" * (limit + 1) + b'"}'
    response = await _post(client, tenant, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: counted while reading
        yield big[: limit // 2]
        yield big[limit // 2 :]

    headers = {**tenant.ingest_headers, "Content-Type": "application/json"}
    response = await client.post("/v1/events", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_ingest_needs_an_ingest_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/events", json=app_event())
    assert response.status_code == 401
    response = await client.post("/v1/events", json=app_event(), headers=tenant.headers)
    assert response.status_code == 403


async def test_batch_is_all_or_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant.ingest_headers
    before = (await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)).json()
    events = [app_event(user_id=f"u{i}") for i in range(5)]
    events[3]["userId"] = ""
    response = await client.post("/v1/events/batch", json={"events": events}, headers=headers)
    assert response.status_code == 422
    assert "events[3].userId" in response.json()["error"]["fields"]
    after = (await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)).json()
    assert len(after["data"]) == len(before["data"])

    events[3]["userId"] = "u3"
    response = await client.post("/v1/events/batch", json={"events": events}, headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert len(body["ids"]) == 5
    assert body["deliveries"] == 5


@pytest.mark.parametrize(
    "body", [{}, {"events": []}, {"events": "x"}, {"events": [app_event()], "more": 1}, []]
)
async def test_batch_shape_is_validated(
    client: httpx.AsyncClient, tenant: Tenant, body: Any
) -> None:
    response = await client.post("/v1/events/batch", json=body, headers=tenant.ingest_headers)
    assert response.status_code == 422


async def test_batch_of_1000_and_over_the_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    events = [app_event(user_id=f"u{i}") for i in range(1001)]
    headers = tenant.ingest_headers
    response = await client.post("/v1/events/batch", json={"events": events}, headers=headers)
    assert response.status_code == 422
    response = await client.post(
        "/v1/events/batch", json={"events": events[:1000]}, headers=headers
    )
    assert response.status_code == 202, response.text
    assert len(set(response.json()["ids"])) == 1000


async def test_history_is_newest_first_filtered_paginated_and_tenant_scoped(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ids = []
    for i in range(3):
        response = await _post(client, tenant, app_event(user_id=f"h{i}"))
        ids.append(response.json()["id"])
    page = (await client.get("/v1/events", params={"limit": 2}, headers=tenant.headers)).json()
    assert [e["id"] for e in page["data"]] == ids[::-1][:2]
    assert page["data"][0]["organisationName"] == tenant.organisation_name
    assert "payload" not in page["data"][0]
    params = {"limit": 1, "cursor": page["nextCursor"]}
    nxt = (await client.get("/v1/events", params=params, headers=tenant.headers)).json()
    assert nxt["data"][0]["id"] == ids[0]

    params = {"type": ACTIVITY, "limit": 200}
    only = (await client.get("/v1/events", params=params, headers=tenant.headers)).json()
    assert {e["event"] for e in only["data"]} == {ACTIVITY}
    params = {"organisationId": "org_missing"}
    none = (await client.get("/v1/events", params=params, headers=tenant.headers)).json()
    assert none["data"] == []

    other = await new_tenant(client, "Other Reseller")
    assert (await client.get(f"/v1/events/{ids[0]}", headers=other.headers)).status_code == 404
    theirs = (await client.get("/v1/events", headers=other.headers)).json()
    assert theirs["data"] == []


async def test_openapi_documents_the_ingest_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    single = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert set(single["schema"]["required"]) == {"event", "userId", "teamId", "data"}
    batch = spec["paths"]["/v1/events/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["properties"]["events"]["maxItems"] == 1000
