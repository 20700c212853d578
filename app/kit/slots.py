"""Per-tenant caps on slow work a process shares (outbound simulations, bulk re-queues).

Without a cap one reseller starting many of them at once could take the outbound pool or
the database pool from every other reseller; past the cap it gets a 429, the others go on.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import TooManyRequests


class TenantSlots:
    """At most `limit` pieces of one kind of work in flight per reseller in this process."""

    def __init__(self, limit: int, *, what: str, setting: str) -> None:
        self.limit = limit
        self._what = what
        self._setting = setting
        self._in_flight: dict[str, int] = {}

    def try_take(self, tenant: str) -> bool:
        count = self._in_flight.get(tenant, 0)
        if count >= self.limit:
            return False
        self._in_flight[tenant] = count + 1
        return True

    def take(self, tenant: str) -> None:
        """One slot, or 429 with `Retry-After` (nothing has been done yet)."""
        if not self.try_take(tenant):
            raise TooManyRequests(
                f"At most {self.limit} {self._what} at once ({self._setting})",
                headers={"Retry-After": "1"},
            )

    def give_back(self, tenant: str) -> None:
        remaining = self._in_flight[tenant] - 1
        if remaining:
            self._in_flight[tenant] = remaining
        else:
            del self._in_flight[tenant]

    @contextmanager
    def hold(self, tenant: str) -> Iterator[None]:
        self.take(tenant)
        try:
            yield
        finally:
            self.give_back(tenant)

    def in_flight(self, tenant: str) -> int:
        return self._in_flight.get(tenant, 0)
