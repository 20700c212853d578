"""In-process post-commit signals: who listens (dispatcher, live feed) is decided at start-up.

Services queue a signal with `after_commit`, so listeners only ever hear about data
that is durable. Listeners must be quick and must not raise; heavy work belongs on
their own queues.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AcceptedEvent:
    """What the live feed needs of one committed event, without another query."""

    id: str
    reseller_id: str
    event_type: str
    parent_organisation_name: str
    organisation_name: str
    user_id: Any
    team_id: Any
    received_at: datetime
    body: bytes


EventsListener = Callable[[Sequence[AcceptedEvent]], None]
WebhooksListener = Callable[[str], None]


class Signals:
    def __init__(self) -> None:
        self._events: list[EventsListener] = []
        self._webhooks: list[WebhooksListener] = []
        self._deliveries_due: list[Callable[[], None]] = []

    def on_events_accepted(self, listener: EventsListener) -> None:
        self._events.append(listener)

    def on_webhooks_changed(self, listener: WebhooksListener) -> None:
        self._webhooks.append(listener)

    def on_deliveries_due(self, listener: Callable[[], None]) -> None:
        self._deliveries_due.append(listener)

    def events_accepted(self, events: Sequence[AcceptedEvent]) -> None:
        for listener in self._events:
            _safely(listener, events)

    def webhooks_changed(self, reseller_id: str) -> None:
        for listener in self._webhooks:
            _safely(listener, reseller_id)

    def deliveries_due(self) -> None:
        for listener in self._deliveries_due:
            _safely(listener)


def _safely(listener: Callable[..., None], *args: Any) -> None:
    try:
        listener(*args)
    except Exception:
        log.exception("signal listener failed")
