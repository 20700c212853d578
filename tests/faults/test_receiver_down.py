"""A receiver that refuses connections for a while, then comes back on the same port:
every delivery arrives, on SQLite and PostgreSQL, dispatcher in-process. Once through
retries alone (schedule shortened to seconds, circuit breakers off), once with the
breakers on: the backlog waits while the endpoint is paused and a probe lets it through.
"""

import asyncio

import pytest
from aiohttp import web

from tests.dispatch.helpers import dispatching
from tests.faults.helpers import free_port
from tests.support.factories import app_event
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

EVENTS = 40  # one page of the delivery log


class PortReceiver(Receiver):
    """The test receiver, listening on a port chosen in advance (it comes back there)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def start(self) -> "PortReceiver":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self


async def test_receiver_down_then_back_gets_everything(database_url: str) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    schedule = (1, 1, 2, 2, 4)
    async with dispatching(
        database_url, retry_schedule=schedule, breaker_failures=0, log_level="WARNING"
    ) as h:
        tenant, webhook = await h.tenant_with_webhook(f"http://127.0.0.1:{port}/hook")
        events = [app_event(user_id=f"u{i}") for i in range(EVENTS)]
        response = await h.client.post(
            "/v1/events/batch", json={"events": events}, headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
        accepted = set(response.json()["ids"])

        async with asyncio.timeout(20):  # down through the first attempt and one retry
            while not all(
                d["attemptCount"] >= 2 for d in await h.deliveries(tenant, webhook["id"])
            ):
                await asyncio.sleep(0.1)
        async with PortReceiver(port) as receiver:
            await receiver.wait_for(EVENTS, timeout=20)
            async with asyncio.timeout(10):  # results are recorded after the replies
                while any(
                    d["status"] != "succeeded" for d in await h.deliveries(tenant, webhook["id"])
                ):
                    await asyncio.sleep(0.1)
        deliveries = await h.deliveries(tenant, webhook["id"])
        first = await h.delivery(tenant, deliveries[0]["id"])

    arrived = {r.headers["x-webhook-id"] for r in receiver.requests}
    assert arrived == {d["id"] for d in deliveries}
    assert {d["eventId"] for d in deliveries} == accepted
    assert all(d["attemptCount"] >= 3 for d in deliveries)  # refused twice or more, then 2xx
    errors = [a["error"] for a in first["attempts"] if a["statusCode"] is None]
    assert len(errors) >= 2
    assert all(e.startswith("connect:") for e in errors), errors  # refused, said so in the log
    assert [a["statusCode"] for a in first["attempts"]].count(200) == 1


async def test_receiver_down_then_back_through_the_breaker(database_url: str) -> None:
    port = free_port()
    settings = {"breaker_failures": 5, "breaker_cooldown_seconds": 1.0}
    async with dispatching(database_url, log_level="WARNING", **settings) as h:
        tenant, webhook = await h.tenant_with_webhook(f"http://127.0.0.1:{port}/hook")
        events = [app_event(user_id=f"u{i}") for i in range(EVENTS)]
        response = await h.client.post(
            "/v1/events/batch", json={"events": events}, headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text

        async with asyncio.timeout(20):  # the breaker trips after 5 refused attempts
            while sum(d["attemptCount"] for d in await h.deliveries(tenant, webhook["id"])) < 5:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # paused, then a refused probe: paused for 2 s
        deliveries = await h.deliveries(tenant, webhook["id"])
        untouched = [d for d in deliveries if d["attemptCount"] == 0]
        assert len(untouched) >= EVENTS - 16 - 2  # the backlog waited (16 slots, 2 probes)

        async with PortReceiver(port) as receiver:
            await receiver.wait_for(EVENTS, timeout=20)  # a probe, then everything
            async with asyncio.timeout(10):
                while any(
                    d["status"] != "succeeded" for d in await h.deliveries(tenant, webhook["id"])
                ):
                    await asyncio.sleep(0.1)
    arrived = [r.headers["x-webhook-id"] for r in receiver.requests]
    assert sorted(arrived) == sorted(d["id"] for d in deliveries)  # each exactly once
