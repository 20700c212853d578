"""The live feed's Socket.IO server: auth at connect, one room per reseller, a bounded buffer.

Ingest never waits for the feed. The `events_accepted` listener (called after the
commit) only hands events that someone may watch to the outbox (`app.live.outbox`:
bounded by entries and bytes, large bodies kept only as their summary, drained round
robin between resellers). One background task drains it: it keeps events of a type
some enabled webhook of the reseller subscribes to, builds the `desktop_event` and
emits it to the room `reseller:<id>`, in batches of up to 32 with a yield between
batches, within the fan-out budget of socket messages per second per process
(`HOOKLINE_LIVE_FANOUT_PER_SECOND`). Slow browsers are bounded per socket by the client
manager (`app.live.manager`); each API key may hold `HOOKLINE_LIVE_SOCKETS_PER_KEY`
sockets per process, a connection beyond that is refused with the reason. Revoking a key
closes its sockets in every process that hears the announcement (`app.auth.revocation`).

The subscribed types are cached per reseller. A `webhooks_changed` signal drops the
entry and announces the new `subscriptions` to the room. With Redis that announcement
goes through Redis to every process, and each process refreshes its cache from it;
a TTL (`HOOKLINE_LIVE_SUBSCRIPTIONS_TTL_SECONDS`, 30 s) is the backstop for a lost
message or a change made without the signal.
"""

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import socketio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.keys import find_key, live_key
from app.auth.revocation import follow
from app.config import Settings
from app.kit.signals import AcceptedEvent, Signals
from app.kit.time import utc_now
from app.live.feed import desktop_event_message, subscriptions_message
from app.live.manager import BoundedManager, BoundedRedisManager
from app.live.outbox import Buffered, FanoutBudget, Outbox
from app.models import ApiKey, Webhook
from app.ops.metrics import CONNECTED_SOCKETS

log = logging.getLogger(__name__)

# How uvicorn serves the feed's websockets, for `serve` and the tests alike. Measured
# with 500 sockets (bench_live): the sans-I/O implementation leaves ingest more CPU than
# uvicorn's default; per-message compression is off, it would cost CPU on every message.
UVICORN_WS_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False}

ROOM_PREFIX = "reseller:"
DRAIN_BATCH = 32


def room_of(reseller_id: str) -> str:
    return ROOM_PREFIX + reseller_id


class LiveFeed:
    """One per app: the Socket.IO server, the event buffer and the subscriptions cache."""

    def __init__(self, app: FastAPI) -> None:
        settings: Settings = app.state.settings
        self._app = app
        self._settings = settings
        self._redis = settings.redis_url is not None
        queue_limit = settings.live_client_queue_limit
        self._ttl = float(settings.live_subscriptions_ttl_seconds)
        manager: Any
        if settings.redis_url is not None:
            manager = BoundedRedisManager(settings.redis_url, queue_limit, self._on_room_message)
        else:
            manager = BoundedManager(queue_limit)
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            cors_allowed_origins=self._origin_allowed,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.outbox = Outbox(
            settings.live_buffer_size, settings.live_buffer_bytes, settings.live_payload_limit
        )
        self._sockets_of_key: dict[str, set[str]] = {}
        self._key_of_socket: dict[str, str] = {}
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._generation: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unfollow: Callable[[], None] = lambda: None
        rate = float(settings.live_fanout_per_second)
        self._budget = FanoutBudget(rate)

    # -- signal listeners: quick, never block, never raise --------------------------------

    def events_accepted(self, events: Sequence[AcceptedEvent]) -> None:
        if not self._redis:  # nobody here to tell: not worth a byte of the buffer
            events = [e for e in events if self._local_participants(room_of(e.reseller_id))]
        self.outbox.push(events)

    def webhooks_changed(self, reseller_id: str) -> None:
        self._invalidate(reseller_id)
        self._spawn(self._announce(reseller_id))

    def keys_changed(self) -> None:
        """A key was revoked (here, or announced by another process on PostgreSQL): close
        this process's sockets opened with a key that is no longer live."""
        if self._sockets_of_key:
            self._spawn(self._close_revoked())

    async def _close_revoked(self) -> None:
        key_ids = list(self._sockets_of_key)
        async with self._sessionmaker()() as session:
            live = set(
                (
                    await session.execute(
                        select(ApiKey.id).where(ApiKey.id.in_(key_ids), live_key(ApiKey, utc_now()))
                    )
                ).scalars()
            )
        for key_id in key_ids:
            for sid in list(self._sockets_of_key.get(key_id, ())) if key_id not in live else ():
                await self.sio.disconnect(sid)

    # -- Socket.IO handlers ------------------------------------------------------------

    async def _connect(self, sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: auth.token is required")
        async with self._sessionmaker()() as session:
            key = await find_key(session, token)
        if key is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: invalid API key")
        if key.kind != "reseller":
            raise socketio.exceptions.ConnectionRefusedError(
                "forbidden: a reseller API key is required"
            )
        sockets = self._sockets_of_key.setdefault(key.id, set())
        cap = self._settings.live_sockets_per_key
        if len(sockets) >= cap:
            raise socketio.exceptions.ConnectionRefusedError(
                f"too_many_connections: at most {cap} live-feed sockets per API key"
            )
        sockets.add(sid)
        self._key_of_socket[sid] = key.id
        await self.sio.enter_room(sid, room_of(key.reseller_id))
        CONNECTED_SOCKETS.inc()
        # Sent after the handler returns, so it follows the CONNECT packet.
        self._spawn(self._greet(sid, key.reseller_id))

    async def _disconnect(self, sid: str, _reason: Any = None) -> None:
        CONNECTED_SOCKETS.dec()
        key_id = self._key_of_socket.pop(sid, None)
        sockets = self._sockets_of_key.get(key_id or "")
        if sockets is not None:
            sockets.discard(sid)
            if not sockets:
                del self._sockets_of_key[key_id or ""]

    def sockets_of_key(self, key_id: str) -> int:
        return len(self._sockets_of_key.get(key_id, ()))

    async def _greet(self, sid: str, reseller_id: str) -> None:
        types = await self.subscribed_types(reseller_id)
        await self.sio.emit("subscriptions", subscriptions_message(types), to=sid)

    async def _announce(self, reseller_id: str) -> None:
        types = await self._load(reseller_id)
        self._store(reseller_id, types)
        await self.sio.emit(
            "subscriptions", subscriptions_message(types), room=room_of(reseller_id)
        )

    # -- the drain loop --------------------------------------------------------------------

    async def drain(self) -> None:
        """Emit buffered events in small batches within the fan-out budget; never dies.

        A batch lets each socket's writer send several packets per wake-up; the yield
        after it keeps ingest requests interleaved with the fan-out.
        """
        while True:
            for entry in await self.outbox.batch(DRAIN_BATCH):
                try:
                    await self._budget.spend(await self._emit(entry))
                except Exception:
                    log.exception("live: could not emit event %s", entry.event.id)
            await asyncio.sleep(0)

    async def _emit(self, entry: Buffered) -> int:
        """Emit one event; returns how many local sockets it was queued for."""
        event = entry.event
        room = room_of(event.reseller_id)
        local = self._local_participants(room)
        if not self._redis and not local:
            return 0  # nobody to tell: skip the DB look-up and the parsing
        if event.event_type not in await self.subscribed_types(event.reseller_id):
            return 0
        # A large body was summarised in the outbox's thread: parsing megabytes here
        # would stall the loop.
        payload = await entry.payload()
        message = desktop_event_message(event, self._settings.live_payload_limit, payload)
        await self.sio.emit("desktop_event", message, room=room)
        return local

    def _local_participants(self, room: str) -> int:
        return sum(1 for _ in self.sio.manager.get_participants("/", room))

    # -- subscriptions cache -----------------------------------------------------------------

    async def subscribed_types(self, reseller_id: str) -> frozenset[str]:
        cached = self._cache.get(reseller_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        generation = self._generation.get(reseller_id, 0)
        types = await self._load(reseller_id)
        if self._generation.get(reseller_id, 0) == generation:  # no change while loading
            self._store(reseller_id, types)
        return types

    async def _load(self, reseller_id: str) -> frozenset[str]:
        query = select(Webhook.events).where(
            Webhook.reseller_id == reseller_id,
            Webhook.enabled.is_(True),
            Webhook.deleted_at.is_(None),
        )
        async with self._sessionmaker()() as session:
            rows = (await session.execute(query)).scalars().all()
        return frozenset(t for events in rows for t in events)

    def _store(self, reseller_id: str, types: frozenset[str]) -> None:
        expires = time.monotonic() + self._ttl if self._ttl > 0 else math.inf
        self._cache[reseller_id] = (expires, types)

    def _invalidate(self, reseller_id: str) -> None:
        self._cache.pop(reseller_id, None)
        self._generation[reseller_id] = self._generation.get(reseller_id, 0) + 1

    def _on_room_message(self, event: str, room: Any, data: Any) -> None:
        """Every process learns of a reseller's new subscriptions from the announcement."""
        if event == "subscriptions" and isinstance(room, str) and room.startswith(ROOM_PREFIX):
            reseller_id = room.removeprefix(ROOM_PREFIX)
            self._invalidate(reseller_id)
            self._store(reseller_id, frozenset(data.get("events", [])))

    # -- plumbing ------------------------------------------------------------------------------

    def _sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        maker: async_sessionmaker[AsyncSession] = self._app.state.sessionmaker
        return maker

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin, the public URL, or a configured dashboard origin; never `*`."""
        if origin is None:
            return True  # not a browser: the token is the only credential that matters
        allowed = {_origin(self._settings.public_url)}
        allowed.update(self._settings.live_cors_origins)
        host = environ.get("HTTP_HOST")
        if host:
            allowed.add(f"{environ.get('wsgi.url_scheme', 'http')}://{host}")
        return origin in allowed

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, signals: Signals) -> None:
        signals.on_events_accepted(self.events_accepted)
        signals.on_webhooks_changed(self.webhooks_changed)
        self._unfollow = follow(self.keys_changed)
        # Start the manager now, so a process with no sockets still hears announcements.
        self.sio.manager_initialized = True
        self.sio.manager.initialize()
        self._spawn(self.drain())

    async def stop(self) -> None:
        self._unfollow()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.outbox.close()
        await self.sio.shutdown()
        if isinstance(self.sio.manager, BoundedRedisManager):
            await self.sio.manager.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def live_feed(app: FastAPI) -> LiveFeed:
    """The app's feed, created on first use (create_asgi needs its server before start-up)."""
    feed: LiveFeed | None = getattr(app.state, "live", None)
    if feed is None:
        feed = LiveFeed(app)
        app.state.live = feed
    return feed


@asynccontextmanager
async def live_component(app: FastAPI) -> AsyncIterator[LiveFeed]:
    """Lifespan component: listen to the signals, drain the buffer, stop cleanly."""
    feed = live_feed(app)
    await feed.start(app.state.signals)
    try:
        yield feed
    finally:
        await feed.stop()
