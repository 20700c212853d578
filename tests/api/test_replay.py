"""Replay missing: the deliveries a webhook never had, for the window's events of its types
and organisations, created exactly once, within the event retention; on both databases."""

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update

from app.deliveries import replay
from app.kit.time import iso, utc_now
from app.models import Delivery, Event
from tests.api.test_routing import second_organisation
from tests.support.deliveries import deliveries_of, ingest
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook

APP, SCREENSHOT = EVENT_TYPES[0], EVENT_TYPES[1]


async def _replay(
    client: httpx.AsyncClient, tenant: Tenant, webhook_id: str, **body: str
) -> httpx.Response:
    return await client.post(f"/v1/webhooks/{webhook_id}/replay", json=body, headers=tenant.headers)


async def test_a_new_webhook_gets_the_events_it_missed(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "CHUNK", 2)  # several chunks
    tenant = await new_tenant(client)
    app_ids = await ingest(client, tenant, 5)
    await ingest(client, tenant, 2, event=SCREENSHOT)
    webhook = await new_webhook(client, tenant, events=(APP,))
    assert await deliveries_of(app, webhook["id"]) == []
    since = iso(utc_now() - timedelta(hours=1))

    response = await _replay(client, tenant, webhook["id"], since=since)
    assert response.status_code == 202, response.text
    result = response.json()
    assert (result["webhookId"], result["created"], result["clamped"]) == (webhook["id"], 5, False)
    assert datetime.fromisoformat(result["since"]) == datetime.fromisoformat(since)
    rows = await deliveries_of(app, webhook["id"])
    assert sorted(d.event_id for d in rows) == sorted(app_ids)
    assert all(d.status == "pending" and d.event_type == APP for d in rows)
    assert all(d.attempt_count == 0 and d.next_attempt_at is not None for d in rows)

    again = await _replay(client, tenant, webhook["id"], since=since)
    assert again.status_code == 202 and again.json()["created"] == 0
    assert len(await deliveries_of(app, webhook["id"])) == 5


async def test_creates_exactly_the_missing_ones(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    ids = await ingest(client, tenant, 6)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    async with app.state.sessionmaker() as session:
        # two were never made (deleted), one event is older than the window
        await session.execute(delete(Delivery).where(Delivery.id.in_([rows[1].id, rows[4].id])))
        await session.execute(delete(Delivery).where(Delivery.id == rows[5].id))
        await session.execute(
            update(Event).where(Event.id == ids[5]).values(received_at=now - timedelta(hours=5))
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id == rows[0].id)
            .values(status="succeeded", next_attempt_at=None)
        )
        await session.commit()
    since = iso(now - timedelta(hours=1))
    response = await _replay(client, tenant, webhook["id"], since=since)
    assert response.json()["created"] == 2
    after = await deliveries_of(app, webhook["id"])
    assert sorted(d.event_id for d in after) == sorted(ids[:5])
    assert [d.status for d in after if d.event_id == ids[0]] == ["succeeded"]  # untouched
    # a wider window takes the older one too; `until` before everything takes nothing
    older = iso(now - timedelta(hours=6))
    nothing = await _replay(client, tenant, webhook["id"], since=older, until=since)
    assert nothing.json()["created"] == 1  # ids[5], received 5 h ago
    assert (await _replay(client, tenant, webhook["id"], since=older)).json()["created"] == 0


async def test_routing_and_types_are_the_webhooks(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await new_tenant(client)
    second = await second_organisation(client, first)
    first_ids = await ingest(client, first, 2)
    await ingest(client, second, 3)
    await ingest(client, first, 1, event=SCREENSHOT)
    webhook = await new_webhook(
        client, first, events=(APP,), organisationIds=[first.organisation_id]
    )
    other_reseller = await new_tenant(client, "Other")
    await ingest(client, other_reseller, 2)
    response = await _replay(
        client, first, webhook["id"], since=iso(utc_now() - timedelta(hours=1))
    )
    assert response.json()["created"] == 2
    assert sorted(d.event_id for d in await deliveries_of(app, webhook["id"])) == sorted(first_ids)


async def test_retention_clamp_and_refusals(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    settings = app.state.settings
    now = utc_now()
    response = await _replay(
        client,
        tenant,
        webhook["id"],
        since=iso(now - timedelta(days=settings.event_retention_days + 5)),
    )
    assert response.status_code == 202
    result = response.json()
    assert result["clamped"] is True and result["created"] == 0
    oldest = now - timedelta(days=settings.event_retention_days)
    clamped_to = datetime.fromisoformat(result["since"])
    assert oldest <= clamped_to <= utc_now() - timedelta(days=settings.event_retention_days)
    for body in (
        {},
        {"since": "nope"},
        {"since": iso(now), "until": iso(now - timedelta(hours=1))},
        {"since": iso(now), "statuses": ["failed"]},
        {"since": "0001-01-01T00:00:00Z"},
        {"since": iso(now), "until": "9999-12-31T23:59:59Z"},
    ):
        bad = await client.post(
            f"/v1/webhooks/{webhook['id']}/replay", json=body, headers=tenant.headers
        )
        assert bad.status_code == 422, (body, bad.text)
    await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    disabled = await _replay(client, tenant, webhook["id"], since=iso(now - timedelta(hours=1)))
    assert disabled.status_code == 409
    await client.delete(f"/v1/webhooks/{webhook['id']}", headers=tenant.headers)
    gone = await _replay(client, tenant, webhook["id"], since=iso(now - timedelta(hours=1)))
    assert gone.status_code == 404
