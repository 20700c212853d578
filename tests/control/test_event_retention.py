"""Event retention: events older than HOOKLINE_EVENT_RETENTION_DAYS are pruned unless a
pending delivery still needs them, on both databases, driven by explicit times."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app.dispatch.housekeeping import housekeeping_once, prune_events
from app.kit.time import utc_now
from app.models import Delivery, DeliveryAttempt, Event
from app.models.delivery import FAILED, SUCCEEDED
from tests.support.factories import app_event, new_tenant, new_webhook


async def _ingest(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/v1/events", json=app_event(), headers=headers)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["id"]
    return event_id


async def _settle(app: FastAPI, event_id: str, status: str) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.event_id == event_id)
            .values(status=status, next_attempt_at=None)
        )
        await session.commit()


async def _left(app: FastAPI, ids: list[str]) -> set[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(Event.id).where(Event.id.in_(ids)))
        return set(rows.scalars())


async def test_old_events_go_unless_a_pending_delivery_needs_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client)
    lonely = await _ingest(client, tenant.ingest_headers)  # before any webhook: no deliveries
    await new_webhook(client, tenant)
    pending, delivered, failed = [await _ingest(client, tenant.ingest_headers) for _ in range(3)]
    await _settle(app, delivered, SUCCEEDED)
    await _settle(app, failed, FAILED)
    ids = [lonely, pending, delivered, failed]

    async with app.state.sessionmaker() as session:
        # Within the retention period nothing goes.
        assert (
            await prune_events(session, now=utc_now() + timedelta(days=29), retention_days=30) == 0
        )
        pruned = await prune_events(session, now=utc_now() + timedelta(days=31), retention_days=30)
        await session.commit()
    assert pruned == 3
    assert await _left(app, ids) == {pending}
    async with app.state.sessionmaker() as session:
        # The finished deliveries went with their events; the pending one is intact.
        deliveries = await session.execute(select(Delivery.event_id, Delivery.status))
        assert {(e, s) for e, s in deliveries if e in ids} == {(pending, "pending")}
        orphans = await session.execute(
            select(func.count())
            .select_from(DeliveryAttempt)
            .where(~select(Delivery.id).where(Delivery.id == DeliveryAttempt.delivery_id).exists())
        )
        assert orphans.scalar_one() == 0

    # Once the last delivery is done, the event can go too.
    await _settle(app, pending, SUCCEEDED)
    async with app.state.sessionmaker() as session:
        assert (
            await prune_events(session, now=utc_now() + timedelta(days=31), retention_days=30) == 1
        )
        await session.commit()
    assert await _left(app, ids) == set()


async def test_housekeeping_prunes_by_the_setting(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    event_id = await _ingest(client, tenant.ingest_headers)
    settings = app.state.settings.model_copy(update={"event_retention_days": 2})
    await housekeeping_once(app.state.sessionmaker, settings, now=utc_now() + timedelta(days=1))
    assert await _left(app, [event_id]) == {event_id}
    await housekeeping_once(app.state.sessionmaker, settings, now=utc_now() + timedelta(days=3))
    assert await _left(app, [event_id]) == set()


async def test_a_batch_bounds_one_round(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    ids = [await _ingest(client, tenant.ingest_headers) for _ in range(5)]
    async with app.state.sessionmaker() as session:
        later = utc_now() + timedelta(days=40)
        assert await prune_events(session, now=later, retention_days=30, batch=2) == 2
        await session.commit()
    assert len(await _left(app, ids)) == 3
