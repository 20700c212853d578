"""The live feed's shared resources: an outbox bounded by bytes that keeps summaries, not
bodies, drained round robin between resellers; a cap on sockets per API key (a real
python-socketio client against uvicorn)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio
import socketio

from app.kit.signals import AcceptedEvent
from app.live.outbox import ENTRY_OVERHEAD, Outbox
from app.ops.metrics import LIVE_DROPPED
from tests.conftest import make_settings
from tests.live.helpers import APP
from tests.support.factories import Tenant, new_tenant, new_webhook
from tests.support.live_client import LiveClient, live_client
from tests.support.server import RunningServer, serve

PAYLOAD_LIMIT = 64 * 1024
SOCKETS_PER_KEY = 3


def _event(reseller: str, n: int, pad: int = 0) -> AcceptedEvent:
    body = json.dumps({"event": APP, "eventId": f"{reseller}_{n}", "pad": "x" * pad}).encode()
    return AcceptedEvent(
        f"{reseller}_{n}", reseller, APP, "R", "O", "u", "t", datetime.now(UTC), body
    )


async def _drain(outbox: Outbox, most: int = 10_000) -> list[str]:
    return [entry.event.id for entry in await outbox.batch(most)]


async def test_large_bodies_are_kept_as_summaries_within_the_byte_bound() -> None:
    max_bytes = 4 * 1024 * 1024
    outbox = Outbox(1000, max_bytes, PAYLOAD_LIMIT)
    try:
        dropped = LIVE_DROPPED._value.get()
        outbox.push([_event("big", n, pad=1024 * 1024) for n in range(12)])
        # Until they are summarised they cost their bodies: only three fit in 4 MiB.
        assert outbox.buffered_bytes <= max_bytes
        assert len(outbox) == 3 and LIVE_DROPPED._value.get() == dropped + 9
        entries = await outbox.batch(10)
        payloads = [await entry.payload() for entry in entries]
        assert [e.event.id for e in entries] == ["big_9", "big_10", "big_11"]
        for entry, payload in zip(entries, payloads, strict=True):
            assert entry.event.body == b""  # the body is gone, the summary stays
            assert payload["truncated"] is True and payload["size"] > 1024 * 1024
            assert entry.cost <= ENTRY_OVERHEAD + PAYLOAD_LIMIT // 2 + 1024
        # Summarised while buffered, they give their bytes back: dozens now fit.
        outbox.push([_event("big", n, pad=1024 * 1024) for n in range(100, 103)])
        while len(outbox) and any(e.pending for q in outbox._queues.values() for e in q):
            await asyncio.sleep(0.01)
        assert outbox.buffered_bytes < 3 * (ENTRY_OVERHEAD + PAYLOAD_LIMIT)
    finally:
        outbox.close()


async def test_the_drain_takes_resellers_in_turn() -> None:
    outbox = Outbox(10_000, 64 * 1024 * 1024, PAYLOAD_LIMIT)
    outbox.push([_event("flood", n) for n in range(500)])
    outbox.push([_event("quiet", n) for n in range(3)])
    first = await _drain(outbox, 8)
    assert first == [
        "flood_0", "quiet_0", "flood_1", "quiet_1", "flood_2", "quiet_2", "flood_3", "flood_4",
    ]  # fmt: skip
    outbox.close()


async def test_a_full_outbox_drops_from_the_heaviest_reseller() -> None:
    outbox = Outbox(10, 64 * 1024 * 1024, PAYLOAD_LIMIT)
    outbox.push([_event("quiet", 0)])
    outbox.push([_event("flood", n) for n in range(30)])
    ids = await _drain(outbox)
    assert "quiet_0" in ids  # the flood lost its own oldest events, not the other's
    assert [i for i in ids if i.startswith("flood")] == [f"flood_{n}" for n in range(21, 30)]
    outbox.close()


# -- sockets per API key, black-box ------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    settings = make_settings(database_url, live_sockets_per_key=SOCKETS_PER_KEY)
    async with serve(settings) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def tenants(server: RunningServer) -> tuple[Tenant, Tenant]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        one, other = await new_tenant(http, "Sockets"), await new_tenant(http, "Other")
        await new_webhook(http, one, events=(APP,))
        await new_webhook(http, other, events=(APP,))
    return one, other


async def test_sockets_per_key_are_capped_at_connect(
    server: RunningServer, tenants: tuple[Tenant, Tenant]
) -> None:
    one, other = tenants
    clients = [LiveClient(server.url, one.api_key) for _ in range(SOCKETS_PER_KEY)]
    for client in clients:
        await client.connect()
    try:
        refused = LiveClient(server.url, one.api_key)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect()
        reason: str = refused.connect_errors[0]["message"]
        assert reason.startswith("too_many_connections")
        assert f"at most {SOCKETS_PER_KEY}" in reason
        # Another key is not affected, and every admitted socket still gets the feed.
        async with live_client(server.url, other.api_key) as another:
            await another.wait_subscriptions(1)
        for client in clients:
            await client.wait_subscriptions(1)
    finally:
        await clients[0].disconnect()
    # A closed socket frees its place.
    again = LiveClient(server.url, one.api_key)
    for _ in range(100):  # the server sees the disconnect a moment after the client
        try:
            await again.connect()
            break
        except socketio.exceptions.ConnectionError:
            again = LiveClient(server.url, one.api_key)
            await asyncio.sleep(0.05)
    assert again.sio.connected
    await again.disconnect()
    for client in clients[1:]:
        await client.disconnect()


# -- fairness through the real feed -------------------------------------------------------

FLOOD = 300


@pytest_asyncio.fixture(scope="module")
async def slow_server(database_url: str) -> AsyncIterator[RunningServer]:
    # The smallest fan-out budget: 100 messages/s, so the flood takes seconds to drain.
    settings = make_settings(database_url, live_fanout_per_second=100)
    async with serve(settings) as running:
        yield running


async def test_one_tenants_flood_does_not_hold_back_anothers_event(
    slow_server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=slow_server.url) as http:
        flooder, quiet = await new_tenant(http, "Flooder"), await new_tenant(http, "Quiet")
        await new_webhook(http, flooder, events=(APP,))
        await new_webhook(http, quiet, events=(APP,))
    assert slow_server.app is not None
    feed = slow_server.app.state.live
    async with (
        live_client(slow_server.url, flooder.api_key) as flood_client,
        live_client(slow_server.url, quiet.api_key) as quiet_client,
    ):
        await flood_client.wait_subscriptions(1)
        await quiet_client.wait_subscriptions(1)
        feed.events_accepted([_event(flooder.reseller_id, n) for n in range(FLOOD)])
        feed.events_accepted([_event(quiet.reseller_id, 0)])
        [event] = await quiet_client.wait_events(1)
        assert event["id"] == f"{quiet.reseller_id}_0"
        # Round robin: the quiet tenant's event went out second, not after the flood.
        assert len(flood_client.events) < FLOOD // 3  # unfair: all 300 first, ~3 s
