"""The feed's bounds: a full buffer drops the oldest, a stuck browser is shed.

Unit-level: events are handed to the feed through the post-commit signal directly
(what ingest does after its commit), so hundreds of large events cost no database work.
"""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest_asyncio
import websockets

from app.kit.signals import AcceptedEvent
from app.live.server import LiveFeed, room_of
from app.ops.metrics import LIVE_DROPPED
from tests.conftest import make_settings
from tests.live.helpers import APP
from tests.support.factories import Tenant, new_tenant, new_webhook
from tests.support.live_client import live_client
from tests.support.server import RunningServer, serve

BUFFER = 10
LIMIT = 50
EVENTS = 400


@pytest_asyncio.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    async with serve(make_settings(database_url, live_buffer_size=BUFFER)) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def tenant(server: RunningServer) -> Tenant:
    async with httpx.AsyncClient(base_url=server.url) as http:
        tenant = await new_tenant(http, "Backpressure")
        await new_webhook(http, tenant, events=(APP,))
    return tenant


def _feed(server: RunningServer) -> LiveFeed:
    assert server.app is not None
    feed: LiveFeed = server.app.state.live
    return feed


def _event(tenant: Tenant, n: int, pad: int = 0) -> AcceptedEvent:
    body = json.dumps({"event": APP, "eventId": f"evt_{n}", "pad": "x" * pad}).encode()
    return AcceptedEvent(
        f"evt_{n}", tenant.reseller_id, APP, tenant.name, "Org", "u", "t", datetime.now(UTC), body
    )


async def test_full_buffer_drops_the_oldest(server: RunningServer, tenant: Tenant) -> None:
    async with live_client(server.url, tenant.api_key) as client:
        await client.wait_subscriptions(1)
        dropped = LIVE_DROPPED._value.get()
        # One synchronous call: the drain task cannot run in between, so 15 of 25 drop.
        _feed(server).events_accepted([_event(tenant, n) for n in range(25)])
        assert LIVE_DROPPED._value.get() == dropped + 25 - BUFFER
        received = await client.wait_events(BUFFER)
        assert [m["id"] for m in received] == [f"evt_{n}" for n in range(15, 25)]


async def _stuck_browser(url: str, token: str) -> websockets.ClientConnection:
    """An Engine.IO/Socket.IO handshake by hand, then never another read.

    `max_queue=1` makes the client stop reading its socket almost at once, a small fixed
    receive buffer stops the kernel absorbing tens of megabytes on its behalf, and no
    permessage-deflate keeps the padding from compressing away, so the server's writes
    back up exactly as with a frozen browser tab.
    """
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.setblocking(False)
    host, port = url.removeprefix("http://").split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    ws = await websockets.connect(
        ws_url, sock=sock, max_queue=1, max_size=None, compression=None, close_timeout=1
    )
    opening = await ws.recv()
    assert str(opening).startswith("0")
    await ws.send("40" + json.dumps({"token": token}))
    while not str(reply := await ws.recv()).startswith("40"):
        assert not str(reply).startswith("44"), reply
    return ws


async def test_stuck_browser_is_shed(server: RunningServer, tenant: Tenant) -> None:
    feed = _feed(server)
    manager = feed.sio.manager
    room = room_of(tenant.reseller_id)
    manager.queue_limit = LIMIT
    try:
        async with live_client(server.url, tenant.api_key) as healthy:
            await healthy.wait_subscriptions(1)
            stuck = await _stuck_browser(server.url, tenant.api_key)
            assert len(list(manager.get_participants("/", room))) == 2
            dropped = LIVE_DROPPED._value.get()
            # 400 x 60 KB: far more than the socket buffers can absorb. The healthy client
            # is kept within a few messages, as a browser that reads would be.
            for n in range(EVENTS):
                await healthy.wait_events(max(0, n - 5), timeout=30)
                feed.events_accepted([_event(tenant, n, pad=60_000)])
            received = await healthy.wait_events(EVENTS, timeout=30)
            assert [m["id"] for m in received] == [f"evt_{n}" for n in range(EVENTS)]
            assert LIVE_DROPPED._value.get() > dropped
            assert [sid for sid, _ in manager.get_participants("/", room)] == [
                healthy.sio.get_sid()
            ]
            await stuck.close()
    finally:
        manager.queue_limit = 1000
