"""A tiny process-local TTL cache for values that never change once created.

Used on the ingest hot path for what rarely changes (organisation and reseller names:
a rename clears it, see `app.events.service.forget_parties`): each saves a query per
request.
Bounded: when full it is simply emptied, which only costs a few queries.
"""

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return value

    def clear(self) -> None:
        self._entries.clear()

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, value)
