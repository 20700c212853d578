"""A `worker` process serves its own /metrics (HOOKLINE_WORKER_METRICS_PORT): the delivery
metrics that only a process running a dispatcher moves, scraped from a real worker."""

import asyncio
import signal
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import app_event, new_tenant, new_webhook
from tests.support.receiver import Receiver
from tests.support.workers import api, kill, start_worker

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_worker_serves_its_delivery_metrics(pg_url: str) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    succeeded = ("hookline_deliveries_total", (("outcome", "succeeded"),))
    attempts = ("hookline_delivery_attempts_total", (("result", "success"),))
    async with Receiver() as receiver, api(pg_url) as client:
        tenant = await new_tenant(client, "Worker metrics")
        await new_webhook(client, tenant, url=receiver.url())
        worker = await start_worker(pg_url, worker_metrics_port=port)
        try:
            before = await _samples(url)
            assert ("hookline_due_deliveries", ()) in before  # read from the database
            assert before.get(attempts, 0) == 0
            for user in ("u1", "u2", "u3"):
                response = await client.post(
                    "/v1/events", json=app_event(user), headers=tenant.ingest_headers
                )
                assert response.status_code == 202, response.text
            await receiver.wait_for(3)
            async with asyncio.timeout(10):  # results are recorded in batches, just after
                while (after := await _samples(url)).get(succeeded, 0) < 3:
                    await asyncio.sleep(0.1)
        finally:
            assert await kill(worker, signal.SIGTERM) == 0
    assert after[attempts] == 3
    assert after[succeeded] == 3
    assert after[("hookline_attempt_latency_seconds_count", ())] == 3
    assert after[("hookline_due_deliveries", ())] == 0
