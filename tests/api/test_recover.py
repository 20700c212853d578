"""Recover: a webhook's failed/cancelled deliveries of a window queued again, in bulk, on
both databases. Idempotent, never touching a delivery in flight, chunked for big ones."""

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.deliveries import recover
from app.deliveries.schemas import RecoverIn
from app.events.writer import NOTIFY_CHANNEL, asyncpg_dsn
from app.kit.time import iso, utc_now
from app.models import Recovery
from tests.support.deliveries import deliveries_of, finished, ingest, set_rows
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook

APP, SCREENSHOT = EVENT_TYPES[0], EVENT_TYPES[1]


async def _recover(
    client: httpx.AsyncClient, tenant: Tenant, webhook_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/webhooks/{webhook_id}/recover", json=body, headers=tenant.headers
    )


async def test_recover_by_window_status_and_type(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    other = await new_webhook(client, tenant, name="Other")
    await ingest(client, tenant, 4)  # app-tracking
    await ingest(client, tenant, 2, event=SCREENSHOT)
    rows = await deliveries_of(app, webhook["id"])
    assert [d.event_type for d in rows] == [APP] * 4 + [SCREENSHOT] * 2
    now = utc_now()
    old, failed_app, cancelled_app, succeeded, failed_shot, cancelled_shot = (d.id for d in rows)
    await set_rows(app, [failed_app, old, failed_shot], **finished("failed", now))
    await set_rows(app, [cancelled_app, cancelled_shot], **finished("cancelled", now, 1))
    await set_rows(app, [succeeded], **finished("succeeded", now))
    await set_rows(app, [old], created_at=now - timedelta(hours=3))  # outside the window
    await set_rows(
        app, [d.id for d in await deliveries_of(app, other["id"])], **finished("failed", now)
    )
    since = iso(now - timedelta(hours=1))

    # failed only, app-tracking only
    response = await _recover(
        client, tenant, webhook["id"], since=since, statuses=["failed"], eventTypes=[APP]
    )
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["id"].startswith("rcv_") and result["webhookId"] == webhook["id"]
    assert (result["matched"], result["queued"], result["state"]) == (1, 1, "done")
    assert result["statuses"] == ["failed"] and result["eventTypes"] == [APP]
    assert result["finishedAt"] is not None
    by_id = {d.id: d for d in await deliveries_of(app, webhook["id"])}
    assert by_id[failed_app].status == "pending"
    assert by_id[failed_app].next_attempt_at is not None and by_id[failed_app].completed_at is None
    assert by_id[failed_app].attempt_count == 3  # the schedule goes on; the log stays
    assert by_id[old].status == "failed" and by_id[failed_shot].status == "failed"
    assert by_id[cancelled_app].status == "cancelled"

    # default statuses (both), every type, until in the future
    until = iso(now + timedelta(minutes=5))
    response = await _recover(client, tenant, webhook["id"], since=since, until=until)
    assert response.status_code == 202
    assert (response.json()["matched"], response.json()["queued"]) == (3, 3)
    states = {d.id: d.status for d in await deliveries_of(app, webhook["id"])}
    assert states == {
        old: "failed",
        failed_app: "pending",
        cancelled_app: "pending",
        succeeded: "succeeded",
        failed_shot: "pending",
        cancelled_shot: "pending",
    }
    # the other webhook's deliveries are not this recovery's
    assert {d.status for d in await deliveries_of(app, other["id"])} == {"failed"}

    # the recovery reads back the same
    read = await client.get(f"/v1/recoveries/{result['id']}", headers=tenant.headers)
    assert read.status_code == 200 and read.json() == result


async def test_running_twice_queues_nothing_pending(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 3)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [d.id for d in rows], **finished("failed", now))
    since = iso(now - timedelta(hours=1))
    first = await _recover(client, tenant, webhook["id"], since=since)
    assert (first.json()["matched"], first.json()["queued"]) == (3, 3)
    due = {d.id: d.next_attempt_at for d in await deliveries_of(app, webhook["id"])}
    second = await _recover(client, tenant, webhook["id"], since=since)
    assert second.status_code == 202
    assert (second.json()["matched"], second.json()["queued"]) == (0, 0)
    assert second.json()["id"] != first.json()["id"]
    after = {d.id: d.next_attempt_at for d in await deliveries_of(app, webhook["id"])}
    assert after == due  # not even brought forward


async def test_an_attempt_in_flight_is_left_to_its_result(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Cancelled while its attempt is under way: still leased, so not queued again (the
    attempt's result decides); an expired lease is a dead worker's and is recovered."""
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 2)
    in_flight, dead = (d.id for d in await deliveries_of(app, webhook["id"]))
    now = utc_now()
    lease_end = now + timedelta(seconds=60)
    await set_rows(
        app, [in_flight], status="cancelled", lease_token="tok1", next_attempt_at=lease_end
    )
    await set_rows(
        app,
        [dead],
        status="cancelled",
        lease_token="tok2",
        next_attempt_at=now - timedelta(seconds=1),
    )
    response = await _recover(client, tenant, webhook["id"], since=iso(now - timedelta(hours=1)))
    assert (response.json()["matched"], response.json()["queued"]) == (2, 1)
    by_id = {d.id: d for d in await deliveries_of(app, webhook["id"])}
    assert by_id[in_flight].status == "cancelled" and by_id[in_flight].lease_token == "tok1"
    assert by_id[in_flight].next_attempt_at == lease_end
    assert by_id[dead].status == "pending" and by_id[dead].lease_token is None


async def test_a_big_recovery_goes_on_in_chunks(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recover, "CHUNK", 3)
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 10)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [d.id for d in rows], **finished("failed", now))
    later = now + timedelta(hours=1)
    await set_rows(app, [rows[4].id], status="pending", next_attempt_at=later)
    response = await _recover(client, tenant, webhook["id"], since=iso(now - timedelta(hours=1)))
    assert response.status_code == 202
    started = response.json()
    assert started["matched"] == 9 and started["queued"] == 3  # the first chunk, in the request
    assert started["state"] == "running" and started["finishedAt"] is None
    for _ in range(200):
        progress = (
            await client.get(f"/v1/recoveries/{started['id']}", headers=tenant.headers)
        ).json()
        assert progress["queued"] <= 9
        if progress["state"] == "done":
            break
        await asyncio.sleep(0.01)
    assert (progress["state"], progress["matched"], progress["queued"]) == ("done", 9, 9)
    after = await deliveries_of(app, webhook["id"])
    assert [d.status for d in after] == ["pending"] * 10
    assert after[4].next_attempt_at == later  # already pending: untouched


async def test_disabled_webhook_and_bad_bodies(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 1)
    [row] = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [row.id], **finished("failed", now))
    since = iso(now - timedelta(hours=1))
    bad_bodies: list[dict[str, Any]] = [
        {},
        {"since": "yesterday"},
        {"since": "2026-12-01T10:00:00"},  # no zone
        {"since": since, "until": since},
        {"since": iso(now), "until": since},
        {"since": since, "statuses": ["pending"]},
        {"since": since, "statuses": []},
        {"since": since, "eventTypes": ["no.such.type"]},
        {"since": since, "extra": 1},
        {"since": "0001-01-01T00:00:00Z"},  # before the ids' epoch
        {"since": since, "until": "9999-12-31T23:59:59Z"},
    ]
    for body in bad_bodies:
        response = await _recover(client, tenant, webhook["id"], **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    disabled = await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert disabled.status_code == 200
    response = await _recover(client, tenant, webhook["id"], since=since)
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    [row] = await deliveries_of(app, webhook["id"])
    assert row.status == "failed"  # nothing written
    await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": True}, headers=tenant.headers
    )
    response = await _recover(client, tenant, webhook["id"], since=since)
    assert response.status_code == 202 and response.json()["queued"] == 1
    missing = await client.get("/v1/recoveries/rcv_doesnotexist", headers=tenant.headers)
    assert missing.status_code == 404


async def test_a_stalled_recovery_is_resumed_from_its_cursor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """As if its process stopped after one chunk: running, a cursor, no progress for a
    while. Reading it resumes it after the cursor (the rows before are not revisited)."""
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 4)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [d.id for d in rows], **finished("failed", now))
    long_ago = now - recover.STALLED_AFTER - timedelta(seconds=1)
    async with app.state.sessionmaker() as session:
        stalled = Recovery(
            reseller_id=tenant.reseller_id,
            webhook_id=webhook["id"],
            state="running",
            since=now - timedelta(hours=1),
            until=now + timedelta(minutes=1),
            statuses=["cancelled", "failed"],
            matched=4,
            queued=1,
            cursor=rows[0].id,  # the first chunk (rows[0]) was done
            created_at=long_ago,
            updated_at=long_ago,
        )
        session.add(stalled)
        await session.commit()
        recovery_id = stalled.id
    for _ in range(200):
        progress = (
            await client.get(f"/v1/recoveries/{recovery_id}", headers=tenant.headers)
        ).json()
        if progress["state"] == "done":
            break
        await asyncio.sleep(0.01)
    assert (progress["state"], progress["matched"], progress["queued"]) == ("done", 4, 4)
    statuses = [d.status for d in await deliveries_of(app, webhook["id"])]
    assert statuses == ["failed", "pending", "pending", "pending"]  # behind the cursor: left


async def test_disabling_the_webhook_stops_its_recovery(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recover, "CHUNK", 2)
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 5)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [d.id for d in rows], **finished("failed", now))
    async with app.state.sessionmaker() as session:
        started = await recover.start(
            session, tenant.reseller_id, webhook["id"], RecoverIn(since=now - timedelta(hours=1))
        )
        await session.commit()
        recovery_id = started.id
    signals = app.state.signals
    assert not await recover.work_chunk(app.state.sessionmaker, recovery_id, signals)
    await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert await recover.work_chunk(app.state.sessionmaker, recovery_id, signals)
    read = (await client.get(f"/v1/recoveries/{recovery_id}", headers=tenant.headers)).json()
    assert (read["state"], read["matched"], read["queued"]) == ("stopped", 5, 2)
    assert read["finishedAt"] is not None


async def test_recovered_and_replayed_deliveries_wake_the_dispatchers(
    app: FastAPI, client: httpx.AsyncClient, db_kind: str
) -> None:
    """The in-process dispatcher is signalled after each chunk's commit; on PostgreSQL the
    chunk's transaction also NOTIFYs the workers' channel, as ingest does (a worker in
    another process hears it). A recovery that queues nothing wakes nobody."""
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest(client, tenant, 1)
    rows = await deliveries_of(app, webhook["id"])
    now = utc_now()
    await set_rows(app, [d.id for d in rows], **finished("failed", now))
    signalled: list[None] = []
    app.state.signals.on_deliveries_due(lambda: signalled.append(None))
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = None
    if db_kind == "postgres":
        listener = await asyncpg.connect(asyncpg_dsn(app.state.settings.database_url))
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[2]))
    since = iso(now - timedelta(hours=1))
    try:
        response = await _recover(client, tenant, webhook["id"], since=since)
        assert response.json()["queued"] == 1 and len(signalled) == 1
        late = await new_webhook(client, tenant, name="Late")
        replayed = await client.post(
            f"/v1/webhooks/{late['id']}/replay", json={"since": since}, headers=tenant.headers
        )
        assert replayed.json()["created"] == 1 and len(signalled) == 2
        again = await _recover(client, tenant, webhook["id"], since=since)
        assert again.json()["queued"] == 0 and len(signalled) == 2
        if listener is not None:
            await asyncio.wait_for(heard.get(), 5)
            await asyncio.wait_for(heard.get(), 5)
            await asyncio.sleep(0.2)
            assert heard.empty()  # the empty re-run notified nobody
    finally:
        if listener is not None:
            await listener.close()


async def test_a_webhooks_recoveries_are_listed_newest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    other = await new_webhook(client, tenant, name="Other")
    await ingest(client, tenant, 2)
    now = utc_now()
    await set_rows(
        app, [d.id for d in await deliveries_of(app, webhook["id"])], **finished("failed", now)
    )
    since = iso(now - timedelta(hours=1))
    started = []
    for _ in range(3):
        response = await _recover(client, tenant, webhook["id"], since=since)
        assert response.status_code == 202, response.text
        started.append(response.json())
    assert (await _recover(client, tenant, other["id"], since=since)).status_code == 202

    path = f"/v1/webhooks/{webhook['id']}/recoveries"
    first = await client.get(path, params={"limit": 2}, headers=tenant.headers)
    assert first.status_code == 200, first.text
    assert first.json()["data"] == [started[2], started[1]]  # as each one reads back
    cursor = first.json()["nextCursor"]
    rest = await client.get(path, params={"limit": 2, "cursor": cursor}, headers=tenant.headers)
    assert rest.json() == {"data": [started[0]], "nextCursor": None}
    assert [r["queued"] for r in reversed(first.json()["data"] + rest.json()["data"])] == [2, 0, 0]

    stranger = await new_tenant(client, "Stranger")
    foreign = await client.get(path, headers=stranger.headers)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    bad = await client.get(path, params={"cursor": "nope"}, headers=tenant.headers)
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["fields"]
