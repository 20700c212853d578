"""Ingest bodies and event history shapes.

Ingest is validated by hand rather than by pydantic: the body is parsed with
`canonical_json.loads` (so numbers JavaScript cannot carry are refused, never
rounded) and `data` must reach the envelope exactly as parsed, without a model
round-trip copying a 25 MiB screenshot. The pydantic models below document the same
rules in the OpenAPI schema.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.errors import ValidationFailed
from app.events.catalogue import CATALOGUE, EVENT_TYPES
from app.kit.schema import InputSchema, Schema
from app.wire.canonical_json import MAX_SAFE_INTEGER, CanonicalJSONError, loads, validate

MAX_ID_LENGTH = 256
MAX_LABEL_LENGTH = 64
DEFAULT_VERSION = "v1"
DEFAULT_AGENT = "desktop-agent"
_FIELDS = frozenset({"event", "userId", "teamId", "data", "timestamp", "version", "agent"})

EventTypeName = Literal[
    "desktop.app_tracking.captured",
    "desktop.screenshot_tracking.captured",
    "desktop.activity_tracking.captured",
]


class EventIn(InputSchema):
    """One event as the desktop agent posts it (documentation of the hand validation)."""

    event: EventTypeName
    user_id: str | int = Field(description="Non-empty string or safe integer")
    team_id: str | int = Field(description="Non-empty string or safe integer")
    data: dict[str, Any] | list[dict[str, Any]] = Field(
        description="An object or an array of objects (the desktop agent's shapes)"
    )
    timestamp: int | None = Field(
        default=None, ge=0, le=MAX_SAFE_INTEGER, description="Epoch ms; default: receipt time"
    )
    version: str = Field(default=DEFAULT_VERSION, min_length=1, max_length=MAX_LABEL_LENGTH)
    agent: str = Field(default=DEFAULT_AGENT, min_length=1, max_length=MAX_LABEL_LENGTH)


class EventBatchIn(InputSchema):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventAccepted(Schema):
    id: str
    deliveries: int


class BatchAccepted(Schema):
    ids: list[str]
    deliveries: int


class EventOut(Schema):
    id: str
    event: str
    organisation_id: str
    organisation_name: str
    user_id: str
    team_id: str
    timestamp: int
    received_at: datetime
    size: int


class EventDetail(EventOut):
    payload: Any = Field(description="The envelope exactly as delivered")


@dataclass(frozen=True, slots=True)
class ValidEvent:
    event_type: str
    user_id: str | int
    team_id: str | int
    data: Any
    timestamp_ms: int | None
    version: str
    agent: str


def parse_body(raw: bytes) -> Any:
    """Parse ingest JSON; a refused number or nesting names the field it sits in."""
    try:
        return loads(raw)
    except CanonicalJSONError as exc:
        raise ValidationFailed(str(exc), fields={_locate(raw): str(exc)}) from None


def _locate(raw: bytes) -> str:
    """Re-read leniently to find *where* the refused value is (only on the error path):
    `loads` stops at the first refusal without a path, `validate` names it."""
    try:
        lenient = json.loads(raw)
    except (ValueError, RecursionError):
        return "body"
    try:
        validate(lenient)
    except CanonicalJSONError as found:
        return found.path.lstrip(".") or "body"
    return "body"


def _id_value(value: Any, name: str, fields: dict[str, str]) -> str | int:
    if type(value) is int:  # bool is an int subclass; `true` is not an id
        return value  # the parser already refused unsafe integers
    if isinstance(value, str):
        if not value.strip():
            fields[name] = f"{name} must not be empty"
        elif len(value) > MAX_ID_LENGTH:
            fields[name] = f"{name} must be at most {MAX_ID_LENGTH} characters"
        return value
    fields[name] = f"{name} must be a non-empty string or an integer"
    return ""


def _label(body: dict[str, Any], name: str, default: str, fields: dict[str, str]) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL_LENGTH:
        fields[name] = f"{name} must be a string of 1 to {MAX_LABEL_LENGTH} characters"
        return default
    return value


def _timestamp(value: Any, fields: dict[str, str]) -> int | None:
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)  # `1769591645035.0` is the same JavaScript number
    if type(value) is not int or value < 0:
        fields["timestamp"] = "timestamp must be a non-negative integer (epoch milliseconds)"
        return None
    return int(value)


def _data(value: Any, fields: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    fields["data"] = "data must be an object or an array of objects"
    return value


def validate_event(body: Any, prefix: str = "") -> tuple[ValidEvent | None, dict[str, str]]:
    """SPEC §2 rules for one event; returns the event or the per-field messages."""
    fields: dict[str, str] = {}
    if not isinstance(body, dict):
        return None, {prefix.rstrip(".") or "body": "An event must be a JSON object"}
    for unknown in sorted(set(body) - _FIELDS):
        fields[unknown] = "Unknown field"
    event_type = body.get("event")
    if not isinstance(event_type, str) or event_type not in CATALOGUE:
        fields["event"] = f"event must be one of: {', '.join(EVENT_TYPES)}"
    for name in ("userId", "teamId", "data"):
        if name not in body:
            fields[name] = "Field required"
    user_id = _id_value(body.get("userId"), "userId", fields) if "userId" in body else ""
    team_id = _id_value(body.get("teamId"), "teamId", fields) if "teamId" in body else ""
    data = _data(body.get("data"), fields) if "data" in body else None
    event = ValidEvent(
        event_type=str(event_type),
        user_id=user_id,
        team_id=team_id,
        data=data,
        timestamp_ms=_timestamp(body.get("timestamp"), fields),
        version=_label(body, "version", DEFAULT_VERSION, fields),
        agent=_label(body, "agent", DEFAULT_AGENT, fields),
    )
    if fields:
        return None, {f"{prefix}{name}": message for name, message in fields.items()}
    return event, {}


def validate_one(body: Any) -> ValidEvent:
    event, fields = validate_event(body)
    if event is None:
        raise ValidationFailed("Invalid event", fields=fields)
    return event


def validate_batch(body: Any, max_events: int) -> list[ValidEvent]:
    if not isinstance(body, dict) or set(body) != {"events"}:
        message = 'The body must be {"events": [...]} and nothing else'
        raise ValidationFailed(message, fields={"events": message})
    items = body["events"]
    if not isinstance(items, list) or not 1 <= len(items) <= max_events:
        message = f"events must be an array of 1 to {max_events} events"
        raise ValidationFailed(message, fields={"events": message})
    events: list[ValidEvent] = []
    fields: dict[str, str] = {}
    for index, item in enumerate(items):
        event, errors = validate_event(item, f"events[{index}].")
        if event is not None:
            events.append(event)
        fields.update(errors)
    if fields:
        raise ValidationFailed("Invalid events in the batch", fields=fields)
    return events
