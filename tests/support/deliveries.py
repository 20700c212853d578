"""Deliveries in chosen states for the operating tests: ingested through the real API,
then set the way a dispatcher would have left them (failed, cancelled, in flight)."""

from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from app.models import Delivery
from tests.support.factories import Tenant, app_event


async def ingest(
    client: httpx.AsyncClient, tenant: Tenant, count: int, event: str | None = None
) -> list[str]:
    """`count` events through `/v1/events`; their ids, oldest first."""
    ids = []
    for n in range(count):
        body = app_event(user_id=f"user_{n}")
        if event is not None:
            body = {**body, "event": event, "data": [{"n": n}]}
        response = await client.post("/v1/events", json=body, headers=tenant.ingest_headers)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def deliveries_of(app: FastAPI, webhook_id: str) -> list[Delivery]:
    async with app.state.sessionmaker() as session:
        query = select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(Delivery.id)
        return list((await session.execute(query)).scalars())


async def set_rows(app: FastAPI, delivery_ids: list[str], **values: Any) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(delivery_ids)).values(**values)
        )
        await session.commit()


def finished(status: str, at: datetime, attempts: int = 3) -> dict[str, Any]:
    """The columns of a delivery the dispatcher finished with `status`."""
    return {
        "status": status,
        "attempt_count": attempts,
        "next_attempt_at": None,
        "lease_token": None,
        "last_status_code": 500 if status == "failed" else None,
        "last_error": "http: endpoint answered 500",
        "completed_at": at,
    }
