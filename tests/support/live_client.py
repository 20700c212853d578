"""A real python-socketio client of the live feed that records what it receives."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import socketio

TIMEOUT = 10.0


class LiveClient:
    """Connects like the dashboard (websocket transport, `auth: {token}`)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[dict[str, Any]] = []
        self.subscriptions: list[list[str]] = []
        self.connect_errors: list[Any] = []
        self._changed = asyncio.Condition()
        self.sio.on("desktop_event", self._on_event)
        self.sio.on("subscriptions", self._on_subscriptions)
        self.sio.on("connect_error", self.connect_errors.append)

    async def _on_event(self, data: dict[str, Any]) -> None:
        async with self._changed:
            self.events.append(data)
            self._changed.notify_all()

    async def _on_subscriptions(self, data: dict[str, Any]) -> None:
        async with self._changed:
            self.subscriptions.append(data["events"])
            self._changed.notify_all()

    async def connect(self) -> None:
        auth = {"token": self.token} if self.token is not None else None
        await self.sio.connect(
            self.url,
            auth=auth,
            transports=["websocket"],
            socketio_path="socket.io",
            wait_timeout=TIMEOUT,
        )

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def wait_events(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """The first `count` desktop events, waiting for them to arrive."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.events) >= count), timeout
            )
        return self.events[:count]

    async def wait_subscriptions(self, count: int, timeout: float = TIMEOUT) -> list[str]:
        """The `count`-th `subscriptions` message received (1-based)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.subscriptions) >= count), timeout
            )
        return self.subscriptions[count - 1]


@contextlib.asynccontextmanager
async def live_client(url: str, token: str | None) -> AsyncIterator[LiveClient]:
    client = LiveClient(url, token)
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()
