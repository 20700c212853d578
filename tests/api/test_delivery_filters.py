"""The delivery log's filters on both databases: status, event type, organisation, time
range, event id and webhook, combined and paginated; bad values are a 422."""

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.kit.time import iso, utc_now
from tests.api.test_routing import second_organisation
from tests.support.deliveries import deliveries_of, finished, ingest, set_rows
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook

APP, SCREENSHOT = EVENT_TYPES[0], EVENT_TYPES[1]


async def _log(client: httpx.AsyncClient, tenant: Tenant, **query: str) -> list[str]:
    response = await client.get("/v1/deliveries", params=query, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["data"]]


async def test_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await new_tenant(client)
    second = await second_organisation(client, first)
    webhook = await new_webhook(client, first)
    other = await new_webhook(client, first, name="Other", events=(SCREENSHOT,))
    first_events = await ingest(client, first, 2)
    second_events = await ingest(client, second, 1, event=SCREENSHOT)
    stranger = await new_tenant(client, "Stranger")
    await new_webhook(client, stranger)
    await ingest(client, stranger, 1)
    mine = await deliveries_of(app, webhook["id"])  # app, app, screenshot
    theirs = await deliveries_of(app, other["id"])  # screenshot
    newest_first = lambda rows: sorted((d.id for d in rows), reverse=True)  # noqa: E731
    now = utc_now()
    await set_rows(app, [mine[0].id], **finished("failed", now))
    await set_rows(app, [mine[0].id], created_at=now - timedelta(hours=2))

    assert await _log(client, first) == newest_first(mine + theirs)
    assert await _log(client, first, status="failed") == [mine[0].id]
    assert await _log(client, first, status="pending", webhookId=webhook["id"]) == newest_first(
        mine[1:]
    )
    assert await _log(client, first, eventType=SCREENSHOT) == newest_first([mine[2], theirs[0]])
    assert await _log(client, first, organisationId=second.organisation_id) == newest_first(
        [mine[2], theirs[0]]
    )
    assert await _log(client, first, organisationId=first.organisation_id) == newest_first(mine[:2])
    assert await _log(client, first, eventId=first_events[1]) == [mine[1].id]
    assert await _log(client, first, eventId=second_events[0], webhookId=other["id"]) == [
        theirs[0].id
    ]
    hour_ago = iso(now - timedelta(hours=1))
    assert await _log(client, first, until=hour_ago) == [mine[0].id]
    assert await _log(client, first, since=hour_ago) == newest_first(mine[1:] + theirs)
    assert await _log(client, first, since=iso(now - timedelta(hours=3)), until=hour_ago) == [
        mine[0].id
    ]
    # another reseller's organisation or event: nothing, as for any unknown id
    assert await _log(client, first, organisationId=stranger.organisation_id) == []
    assert await _log(client, stranger, organisationId=first.organisation_id) == []
    # paginated under a filter
    response = await client.get(
        "/v1/deliveries", params={"eventType": SCREENSHOT, "limit": 1}, headers=first.headers
    )
    page = response.json()
    follow = await client.get(
        "/v1/deliveries",
        params={"eventType": SCREENSHOT, "limit": 1, "cursor": page["nextCursor"]},
        headers=first.headers,
    )
    assert [d["id"] for d in page["data"] + follow.json()["data"]] == newest_first(
        [mine[2], theirs[0]]
    )


async def test_bad_filters_are_422(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    now = utc_now()
    for query in (
        {"status": "lost"},
        {"eventType": "no.such.type"},
        {"since": "yesterday"},
        {"until": "2026-12-01T10:00:00"},  # no zone
        {"since": iso(now), "until": iso(now - timedelta(hours=1))},
        {"eventId": "e" * 65},
        {"organisationId": "o" * 65},
        {"since": "0001-01-01T00:00:00Z"},
        {"until": "9999-12-31T23:59:59Z"},
    ):
        response = await client.get("/v1/deliveries", params=query, headers=tenant.headers)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["error"]["code"] == "validation_error"


async def test_each_delivery_names_its_events_organisation(client: httpx.AsyncClient) -> None:
    """In the log, the detail and a retry's answer (one query for a page's organisations)."""
    first = await new_tenant(client, "Named")
    second = await second_organisation(client, first)
    await new_webhook(client, first)
    await ingest(client, first, 2)
    await ingest(client, second, 1)
    response = await client.get("/v1/deliveries", headers=first.headers)
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    organisations = [d["organisationId"] for d in listed]  # newest first
    assert organisations == [second.organisation_id] + [first.organisation_id] * 2
    newest = listed[0]
    detail = await client.get(f"/v1/deliveries/{newest['id']}", headers=first.headers)
    assert detail.json()["organisationId"] == second.organisation_id
    retried = await client.post(f"/v1/deliveries/{newest['id']}/retry", headers=first.headers)
    assert retried.status_code == 202, retried.text  # pending, not in flight: due now
    assert retried.json()["organisationId"] == second.organisation_id
