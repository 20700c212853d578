"""Helpers for the fault tests: a paced trickle of single-event ingests and its
ingest-to-arrival latencies, and their summary. Worker processes and the batch ingest
and arrival checks are in `tests.support.workers`.
"""

import asyncio
import json
import socket
import time
from dataclasses import dataclass

import httpx

from bench.common import percentile
from tests.support.factories import Tenant, app_event
from tests.support.receiver import Receiver
from tests.support.workers import REPO  # noqa: F401 - the fault tests' import


def free_port() -> int:
    """A port nothing listens on right now (for a receiver that comes up later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Latency:
    """Ingest-to-arrival figures of one trickle, in milliseconds."""

    count: int
    p50: float
    p99: float
    max: float

    def __str__(self) -> str:
        return f"n={self.count} p50={self.p50:.1f} ms p99={self.p99:.1f} ms max={self.max:.1f} ms"


def first_arrivals(receiver: Receiver) -> dict[str, float]:
    """userId -> when its delivery first arrived (at least once: retries may repeat it)."""
    arrived: dict[str, float] = {}
    for request in receiver.requests:
        user = json.loads(request.body)["userId"]
        arrived.setdefault(user, request.at)
    return arrived


async def trickle(
    client: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    *,
    rate: float,
    seconds: float,
    tag: str,
) -> Latency:
    """Ingest `rate` single events per second for `seconds` against absolute deadlines
    (a slow request never delays the next), then wait for every one to arrive.

    Latency is from just before the POST to the receiver's arrival stamp: both are
    `time.monotonic()` in this process. Events are told apart by a unique userId.
    """
    sent: dict[str, float] = {}

    async def post(user: str) -> None:
        sent[user] = time.monotonic()
        response = await client.post(
            "/v1/events", json=app_event(user_id=user), headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text

    start = time.monotonic()
    tasks = []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(post(f"{tag}{i}")))
    await asyncio.gather(*tasks)
    async with asyncio.timeout(30):
        while not sent.keys() <= (arrived := first_arrivals(receiver)).keys():
            await asyncio.sleep(0.05)
    return summarise([arrived[user] - at for user, at in sent.items()])


def summarise(seconds: list[float]) -> Latency:
    ms = [s * 1000 for s in seconds]
    return Latency(len(ms), percentile(ms, 50), percentile(ms, 99), max(ms))
