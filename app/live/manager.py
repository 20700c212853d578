"""Socket.IO client managers that bound what a slow browser can cost the server.

Engine.IO gives every connection an *unbounded* `asyncio.Queue` of outgoing packets,
drained by one writer task per socket. uvicorn's WebSocket `send` waits while the
transport's write buffer is above its high-water mark, so for a browser that stops
reading, the writer blocks and every further emit piles up in that queue.

Policy: before a room emit is queued for a socket, the socket's queue length is
checked. A socket already holding `queue_limit` packets is shed: its queued packets
are discarded (counted in `hookline_live_messages_dropped`), its writer is told to
stop after the packet in flight (which closes the WebSocket once the browser reads
again, so the browser's client reconnects by itself) and it leaves its room at once.
What a stuck browser can hold is thus at most `queue_limit` packets plus the transport
buffer; it never receives a partial feed silently, it reconnects and the REST event
list holds everything it missed.

The room emit is also cheaper than python-socketio's default (one task per recipient):
the packet is encoded once and put straight onto each recipient's queue. This reaches
into Engine.IO's socket (`eio.sockets`, `socket.queue`, `socket.send`); the live tests
exercise exactly that path, so an incompatible upgrade fails them.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from app.ops.metrics import LIVE_DROPPED

log = logging.getLogger(__name__)

RoomMessageHook = Callable[[str, Any, Any], None]


class _BoundedDelivery:
    """Room delivery with the per-socket queue bound (see the module docstring)."""

    queue_limit: int = 1000
    server: Any

    async def _deliver(self, event: str, data: Any, namespace: str, room: str) -> bool:
        """Queue the packet for every local participant; False when it must fall back."""
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, data]
        ).encode()
        if not isinstance(encoded, str):  # binary attachments: leave it to python-socketio
            return False
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        sockets = self.server.eio.sockets
        manager: Any = self  # the python-socketio manager this class is mixed into
        for sid, eio_sid in list(manager.get_participants(namespace, room)):
            socket = sockets.get(eio_sid)
            if socket is None or socket.closed or socket.closing:
                continue
            if not manager.is_connected(sid, namespace):
                continue  # still in its connect handler: nothing before the CONNECT packet
            if socket.queue.qsize() >= self.queue_limit:
                await shed(socket)
                continue
            await socket.send(pkt)
        return True


async def shed(socket: Any) -> None:
    """Drop a socket's backlog and close it without waiting for the browser."""
    queue: asyncio.Queue[Any] = socket.queue
    dropped = 1  # the packet that did not fit
    while True:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        if item is not None:
            dropped += 1
    LIVE_DROPPED.inc(dropped)
    log.warning("live: shedding slow client %s (%d messages dropped)", socket.sid, dropped)
    queue.put_nowait(None)  # the writer stops after its in-flight packet and closes the socket
    await socket.close(wait=False, abort=True, reason=socket.server.reason.SERVER_DISCONNECT)


class BoundedManager(_BoundedDelivery, socketio.AsyncManager):  # type: ignore[misc]
    """The in-process manager (no Redis)."""

    def __init__(self, queue_limit: int) -> None:
        super().__init__()
        self.queue_limit = queue_limit

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **_kwargs: Any,
    ) -> None:
        room = to or room
        if (
            isinstance(room, str)
            and skip_sid is None
            and callback is None
            and await self._deliver(event, data, namespace, room)
        ):
            return
        await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)


class BoundedRedisManager(_BoundedDelivery, socketio.AsyncRedisManager):  # type: ignore[misc]
    """Rooms across processes through Redis pub/sub; each process bounds its own sockets.

    `on_room_message(event, room, data)` sees every emit any process makes (the live
    feed uses the `subscriptions` announcements to refresh its cache everywhere).
    """

    def __init__(self, url: str, queue_limit: int, on_room_message: RoomMessageHook) -> None:
        super().__init__(url, channel="hookline-live")
        self.queue_limit = queue_limit
        self._on_room_message = on_room_message

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        room = message.get("room")
        namespace = message.get("namespace") or "/"
        simple = (
            isinstance(room, str)
            and isinstance(data, list)
            and len(data) == 1
            and not message.get("binary")
            and message.get("callback") is None
            and message.get("skip_sid") in (None, [None])
        )
        if not simple:
            await super()._handle_emit(message)
            return
        assert isinstance(data, list)
        assert isinstance(room, str)
        try:
            self._on_room_message(message["event"], room, data[0])
        except Exception:
            log.exception("live: room message hook failed")
        if not await self._deliver(message["event"], data[0], namespace, room):
            await super()._handle_emit(message)

    async def close(self) -> None:
        """Stop listening and release the Redis connections."""
        thread = getattr(self, "thread", None)
        if isinstance(thread, asyncio.Task):
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        for client in (getattr(self, "pubsub", None), getattr(self, "redis", None)):
            if client is not None:
                await client.aclose()
