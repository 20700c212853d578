"""Simulations against a receiver that never answers, black-box against uvicorn: the
database connection is back in the pool before the POST, each reseller has its own cap
(429 beyond it), and another tenant is answered normally meanwhile."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import make_settings
from tests.support.factories import EVENT_TYPES, new_tenant, new_webhook
from tests.support.receiver import Received, Reply, http_receiver
from tests.support.server import RunningServer, serve

CAP = 5
HUNG = 20


@pytest_asyncio.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    settings = make_settings(
        database_url,
        allow_private_targets=True,
        delivery_timeout_seconds=20,
        simulation_concurrency=CAP,
    )
    async with serve(settings) as running:
        yield running


async def test_hung_simulations_of_one_tenant_leave_the_others_alone(
    server: RunningServer,
) -> None:
    assert server.app is not None
    engine: AsyncEngine = server.app.state.engine
    release = asyncio.Event()

    async def never_answers(_: Received) -> Reply:
        await release.wait()
        return Reply()

    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        http_receiver(never_answers) as hung,
        http_receiver() as healthy,
    ):
        noisy, quiet = await new_tenant(http, "Noisy"), await new_tenant(http, "Quiet")
        noisy_hook = await new_webhook(http, noisy, url=hung.base_url)
        quiet_hook = await new_webhook(http, quiet, url=healthy.base_url)
        simulate = {"event": EVENT_TYPES[0]}

        sends = [
            asyncio.create_task(
                http.post(
                    f"/v1/webhooks/{noisy_hook['id']}/simulate",
                    json=simulate,
                    headers=noisy.headers,
                )
            )
            for _ in range(HUNG)
        ]
        await hung.wait_for(CAP)
        refused = await _done(sends, HUNG - CAP)
        assert {r.status_code for r in refused} == {429}
        assert all(r.json()["error"]["code"] == "too_many_requests" for r in refused)
        assert all(r.headers["retry-after"] == "1" for r in refused)
        pending = [s for s in sends if not s.done()]
        assert len(pending) == CAP

        # Five POSTs are waiting on the receiver and no connection is checked out for them.
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        me = await http.get("/v1/me", headers=quiet.headers)
        assert me.status_code == 200, me.text
        listed = await http.get("/v1/webhooks", headers=quiet.headers)
        assert listed.status_code == 200 and len(listed.json()["data"]) == 1
        sent = await http.post(
            f"/v1/webhooks/{quiet_hook['id']}/simulate", json=simulate, headers=quiet.headers
        )
        assert sent.status_code == 200 and sent.json()["delivered"] is True, sent.text
        assert not any(s.done() for s in pending)  # the noisy tenant's POSTs are still hung
        assert len(hung.requests) == CAP

        release.set()
        results = await asyncio.gather(*pending)
    assert all(r.status_code == 200 and r.json()["delivered"] for r in results)
    assert server.app.state.simulation_slots.in_flight(noisy.reseller_id) == 0


async def _done(tasks: "list[asyncio.Task[httpx.Response]]", count: int) -> list[httpx.Response]:
    """The first `count` tasks to finish."""
    finished: list[httpx.Response] = []
    for next_done in asyncio.as_completed(tasks):
        finished.append(await next_done)
        if len(finished) == count:
            break
    return finished
