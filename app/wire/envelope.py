"""The delivery envelope, built once per event as canonical bytes (SPEC §3).

Field order is the desktop agent's (event, version, agent, timestamp) then the
reseller context; `data` is exactly what was ingested.
"""

from dataclasses import dataclass
from typing import Any

from app.wire.canonical_json import dumps


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str


def envelope(
    *,
    event_type: str,
    event_id: str,
    timestamp_ms: int,
    parent: Party,
    organisation: Party,
    user_id: Any,
    team_id: Any,
    data: Any,
    version: str = "v1",
    agent: str = "desktop-agent",
    simulation: bool = False,
) -> dict[str, Any]:
    return {
        "event": event_type,
        "version": version,
        "agent": agent,
        "timestamp": timestamp_ms,
        "eventId": event_id,
        "simulation": simulation,
        "parentOrganisation": {"id": parent.id, "name": parent.name},
        "organisation": {"id": organisation.id, "name": organisation.name},
        "userId": user_id,
        "teamId": team_id,
        "data": data,
    }


def envelope_bytes(**fields: Any) -> bytes:
    """`envelope(...)` as the canonical bytes that are stored, signed and sent."""
    return dumps(envelope(**fields))
