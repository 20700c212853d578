"""An app with the dispatcher on, a clock tests can move, and polling helpers."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.dispatch.worker import Dispatcher
from app.kit.time import utc_now
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import Tenant, new_tenant, new_webhook


class OffsetClock:
    """Real time plus an offset the test advances: retries come due without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    clock: OffsetClock

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.app.state.dispatcher
        return dispatcher

    def advance(self, seconds: float) -> None:
        """Move the clock and wake the dispatcher, as a real retry coming due would."""
        self.clock.advance(seconds)
        self.dispatcher.wake()

    async def tenant_with_webhook(
        self, url: str, name: str = "R", **options: Any
    ) -> tuple[Tenant, dict[str, Any]]:
        tenant = await new_tenant(self.client, name)
        return tenant, await new_webhook(self.client, tenant, url=url, **options)

    async def deliveries(self, tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/v1/deliveries", params={"webhookId": webhook_id}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def delivery(self, tenant: Tenant, delivery_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/deliveries/{delivery_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    async def wait_delivery(
        self,
        tenant: Tenant,
        delivery_id: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Poll the delivery log until `until(detail)` holds (results are written async)."""
        async with asyncio.timeout(timeout):
            while True:
                detail = await self.delivery(tenant, delivery_id)
                if until(detail):
                    return detail
                await asyncio.sleep(0.05)


@asynccontextmanager
async def dispatching(database_url: str, **overrides: Any) -> AsyncIterator[Harness]:
    """The real app, lifespan and dispatcher included, with private targets allowed."""
    values: dict[str, Any] = {
        "dispatcher": "on",
        "allow_private_targets": True,
        "poll_interval_seconds": 0.2,
        "retry_jitter": 0.0,
        "shutdown_grace_seconds": 2.0,
    }
    values.update(overrides)
    app = create_app(make_settings(database_url, **values))
    clock = OffsetClock()
    app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        base_url = "http://hookline.test"
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Harness(app, client, clock)
