"""Bulk operations (recover, replay) are capped per reseller per process
(`HOOKLINE_BULK_OPERATIONS_PER_TENANT`, default 2): past the cap a 429 that started nothing,
while other resellers go on; a recovery working in the background holds its slot until its
last chunk."""

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.deliveries import recover
from app.events.writer import asyncpg_dsn
from app.kit.time import iso, utc_now
from app.models import Recovery
from tests.support.deliveries import deliveries_of, finished, ingest, set_rows
from tests.support.factories import Tenant, new_tenant, new_webhook


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, webhook_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/webhooks/{webhook_id}/{action}", json=body, headers=tenant.headers
    )


async def _recoveries(app: FastAPI, reseller_id: str) -> int:
    async with app.state.sessionmaker() as session:
        query = select(func.count()).where(Recovery.reseller_id == reseller_id)
        return int((await session.execute(query)).scalar_one())


async def _failed_backlog(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, n: int) -> str:
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, n)
    rows = await deliveries_of(app, webhook["id"])
    await set_rows(app, [d.id for d in rows], **finished("failed", utc_now()))
    return str(webhook["id"])


async def test_past_the_cap_a_429_that_starts_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    noisy, quiet = await new_tenant(client, "Noisy"), await new_tenant(client, "Quiet")
    noisy_hook = await _failed_backlog(app, client, noisy, 2)
    quiet_hook = await _failed_backlog(app, client, quiet, 2)
    since = iso(utc_now() - timedelta(hours=1))
    slots = app.state.bulk_slots
    assert slots.limit == 2
    for _ in range(2):  # two of the noisy reseller's operations are running in this process
        slots.take(noisy.reseller_id)
    try:
        for action in ("recover", "replay"):
            refused = await _post(client, noisy, noisy_hook, action, since=since)
            assert refused.status_code == 429, refused.text
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "too_many_requests"
            assert "HOOKLINE_BULK_OPERATIONS_PER_TENANT" in refused.json()["error"]["message"]
        assert await _recoveries(app, noisy.reseller_id) == 0  # nothing half-started
        assert {d.status for d in await deliveries_of(app, noisy_hook)} == {"failed"}

        accepted = await _post(client, quiet, quiet_hook, "recover", since=since)
        assert accepted.status_code == 202 and accepted.json()["queued"] == 2
        late = await new_webhook(client, quiet, name="Late")
        replayed = await _post(client, quiet, late["id"], "replay", since=since)
        assert replayed.status_code == 202 and replayed.json()["created"] == 2
        assert slots.in_flight(quiet.reseller_id) == 0  # given back when each finished
    finally:
        slots.give_back(noisy.reseller_id)
        slots.give_back(noisy.reseller_id)
    again = await _post(client, noisy, noisy_hook, "recover", since=since)
    assert again.status_code == 202 and again.json()["queued"] == 2
    assert slots.in_flight(noisy.reseller_id) == 0


async def test_a_refused_or_failed_start_gives_its_slot_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client)
    webhook_id = await _failed_backlog(app, client, tenant, 1)
    await client.patch(
        f"/v1/webhooks/{webhook_id}", json={"enabled": False}, headers=tenant.headers
    )
    since = iso(utc_now() - timedelta(hours=1))
    for _ in range(3):  # more than the cap: each 409 gave its slot back
        for action in ("recover", "replay"):
            response = await _post(client, tenant, webhook_id, action, since=since)
            assert response.status_code == 409, response.text
    assert app.state.bulk_slots.in_flight(tenant.reseller_id) == 0


async def test_a_background_recovery_holds_its_slot_until_its_last_chunk(
    app: FastAPI, client: httpx.AsyncClient, db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real recoveries kept running: on PostgreSQL another connection holds the row locks of
    their second chunk, so their background tasks wait on the database with their slots (a
    third is refused); once let go, both finish and give their slots back. On SQLite the
    background recovery runs straight through and gives its slot back as well."""
    monkeypatch.setattr(recover, "CHUNK", 2)
    tenant = await new_tenant(client)
    webhooks = [await _failed_backlog(app, client, tenant, 4) for _ in range(2)]
    second_chunks = [d.id for w in webhooks for d in (await deliveries_of(app, w))[2:]]
    since = iso(utc_now() - timedelta(hours=1))
    slots = app.state.bulk_slots
    started = []
    if db_kind == "postgres":
        blocker = await asyncpg.connect(asyncpg_dsn(app.state.settings.database_url))
        try:
            locks = blocker.transaction()
            await locks.start()
            await blocker.execute(
                "SELECT id FROM deliveries WHERE id = ANY($1::text[]) FOR UPDATE", second_chunks
            )
            for held, webhook_id in enumerate(webhooks, start=1):
                response = await _post(client, tenant, webhook_id, "recover", since=since)
                assert response.status_code == 202 and response.json()["state"] == "running"
                assert response.json()["queued"] == 2  # its first chunk, in the request
                assert slots.in_flight(tenant.reseller_id) == held
                started.append(response.json()["id"])
            third = await _post(client, tenant, webhooks[0], "recover", since=since)
            assert third.status_code == 429
            await locks.rollback()
        finally:
            await blocker.close()
    else:
        for webhook_id in webhooks:
            response = await _post(client, tenant, webhook_id, "recover", since=since)
            assert response.status_code == 202 and response.json()["queued"] >= 2
            started.append(response.json()["id"])
    for _ in range(500):
        if slots.in_flight(tenant.reseller_id) == 0:
            break
        await asyncio.sleep(0.01)
    assert slots.in_flight(tenant.reseller_id) == 0
    states = [
        (await client.get(f"/v1/recoveries/{rid}", headers=tenant.headers)).json()
        for rid in started
    ]
    assert {s["state"] for s in states} == {"done"}
    assert [s["queued"] for s in states] == [4, 4]
    for webhook_id in webhooks:
        assert {d.status for d in await deliveries_of(app, webhook_id)} == {"pending"}
