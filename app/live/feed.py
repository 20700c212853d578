"""What goes over the live feed: `subscriptions` and `desktop_event` messages.

Pure functions, no I/O. The payload of a `desktop_event` is the envelope exactly as
the webhooks receive it, unless its canonical body is larger than the payload limit
(`HOOKLINE_LIVE_PAYLOAD_LIMIT`, 64 KiB): then the browser gets a marked summary

    {"truncated": true, "size": <body bytes>, "summary": <the envelope, shortened>}

The summary keeps every key of the envelope in order, but strings longer than
`max_string` characters are cut to that many characters followed by
`"…[+N chars]"`, arrays keep their first `max_items` items followed by the string
`"…[+N items]"`, and objects deeper than `MAX_DEPTH` become `"…"`. The caps start at
(256 chars, 10 items) and are shrunk (64/3, then 64/1) until the encoded summary
fits in half the limit; if even that does not fit (an envelope with a huge number
of keys), the summary keeps only the envelope's top-level scalar fields
(strings cut at 256 characters). The full
event is always available from `GET /v1/events/{id}`.
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from app.events.catalogue import EVENT_TYPES
from app.kit.signals import AcceptedEvent
from app.kit.time import iso

MAX_DEPTH = 8
SUMMARY_CAPS: tuple[tuple[int, int], ...] = ((256, 10), (64, 3), (64, 1))


def subscriptions_message(types: Iterable[str]) -> dict[str, list[str]]:
    """The subscribed types in catalogue order (the order of the dashboard's tabs)."""
    wanted = set(types)
    return {"events": [t for t in EVENT_TYPES if t in wanted]}


def desktop_event_message(
    event: AcceptedEvent, payload_limit: int, payload: Any = None
) -> dict[str, Any]:
    """The `desktop_event` for one accepted event: `payload` when given (a summary made
    earlier), else the body parsed once."""
    return {
        "id": event.id,
        "event": event.event_type,
        "parentOrganisationName": event.parent_organisation_name,
        "organisationName": event.organisation_name,
        "userId": event.user_id,
        "teamId": event.team_id,
        "receivedAt": iso(event.received_at),
        "payload": payload_of(event.body, payload_limit) if payload is None else payload,
    }


def summary_payload(body: bytes, payload_limit: int) -> tuple[Any, int]:
    """The marked summary of a body over the limit, and its encoded size in bytes."""
    payload = payload_of(body, payload_limit)
    return payload, _encoded_size(payload)


def payload_of(body: bytes, payload_limit: int) -> Any:
    """The envelope, or the marked summary when the body is over the limit."""
    envelope = json.loads(body)
    if len(body) <= payload_limit:
        return envelope
    return {"truncated": True, "size": len(body), "summary": summarise(envelope, payload_limit)}


def summarise(envelope: Any, payload_limit: int) -> Any:
    """The envelope shortened until it encodes to at most half the payload limit."""
    budget = payload_limit // 2
    for max_string, max_items in SUMMARY_CAPS:
        summary = _shorten(envelope, max_string, max_items, 0)
        if _encoded_size(summary) <= budget:
            return summary
    if isinstance(envelope, dict):
        return {k: _shorten(v, 256, 0, 0) for k, v in envelope.items() if not _is_container(v)}
    return "…"


def _shorten(value: Any, max_string: int, max_items: int, depth: int) -> Any:
    if isinstance(value, str):
        if len(value) <= max_string:
            return value
        return f"{value[:max_string]}…[+{len(value) - max_string} chars]"
    if _is_container(value) and depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {k: _shorten(v, max_string, max_items, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return _shorten_list(value, max_string, max_items, depth)
    return value


def _shorten_list(value: Sequence[Any], max_string: int, max_items: int, depth: int) -> list[Any]:
    kept = [_shorten(v, max_string, max_items, depth + 1) for v in value[:max_items]]
    if len(value) > max_items:
        kept.append(f"…[+{len(value) - max_items} items]")
    return kept


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
