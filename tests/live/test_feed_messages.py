"""Pure message building: subscriptions order, payload limit, summary rules."""

import json
from datetime import UTC, datetime

from app.kit.signals import AcceptedEvent
from app.live.feed import desktop_event_message, payload_of, subscriptions_message, summarise
from tests.live.helpers import ACTIVITY, APP, SCREENSHOT

LIMIT = 64 * 1024


def test_subscriptions_in_catalogue_order_without_duplicates() -> None:
    assert subscriptions_message([ACTIVITY, APP, ACTIVITY, "unknown"]) == {
        "events": [APP, ACTIVITY]
    }
    assert subscriptions_message([]) == {"events": []}


def test_payload_at_the_limit_is_whole() -> None:
    envelope = {"event": SCREENSHOT, "data": "x"}
    body = json.dumps(envelope).encode()
    padded = json.dumps({**envelope, "data": "x" * (LIMIT - len(body) + 1)}).encode()
    assert len(padded) == LIMIT
    assert payload_of(padded, LIMIT) == json.loads(padded)
    over = json.dumps({**envelope, "data": "x" * (LIMIT - len(body) + 2)}).encode()
    assert payload_of(over, LIMIT)["truncated"] is True
    assert payload_of(over, LIMIT)["size"] == LIMIT + 1


def test_summary_cuts_strings_and_arrays() -> None:
    envelope = {
        "event": APP,
        "eventId": "evt_1",
        "data": [{"n": i, "blob": "b" * 100_000} for i in range(50)],
    }
    summary = summarise(envelope, LIMIT)
    assert summary["event"] == APP
    assert summary["eventId"] == "evt_1"
    assert summary["data"][-1].startswith("…[+")
    assert summary["data"][-1].endswith(" items]")
    assert summary["data"][0]["blob"].endswith(" chars]")
    assert len(json.dumps(summary).encode()) <= LIMIT // 2


def test_summary_of_an_envelope_with_countless_keys_keeps_top_level_scalars() -> None:
    envelope = {"event": APP, "eventId": "evt_2", "data": {f"k{i}": i for i in range(50_000)}}
    summary = summarise(envelope, LIMIT)
    assert summary == {"event": APP, "eventId": "evt_2"}


def test_deep_nesting_is_cut() -> None:
    deep: dict[str, object] = {"leaf": "x" * 70_000}
    for _ in range(20):
        deep = {"inner": deep}
    summary = summarise({"event": APP, "data": deep}, LIMIT)
    node = summary["data"]
    depth = 1
    while isinstance(node, dict):
        node = node["inner"]
        depth += 1
    assert node == "…"
    assert depth <= 9


def test_desktop_event_message_fields() -> None:
    received = datetime(2026, 1, 28, 9, 0, 0, 123456, tzinfo=UTC)
    event = AcceptedEvent(
        "evt_9", "rsl_1", APP, "Parent", "Child", 42, "team", received, b'{"event":"x"}'
    )
    assert desktop_event_message(event, LIMIT) == {
        "id": "evt_9",
        "event": APP,
        "parentOrganisationName": "Parent",
        "organisationName": "Child",
        "userId": 42,
        "teamId": "team",
        "receivedAt": "2026-01-28T09:00:00.123Z",
        "payload": {"event": "x"},
    }
