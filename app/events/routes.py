from typing import Any

from fastapi import APIRouter

from app.auth.deps import ResellerAuth
from app.events.catalogue import CATALOGUE

router = APIRouter(tags=["events"])


@router.get("/event-types")
async def list_event_types(_: ResellerAuth) -> dict[str, list[dict[str, Any]]]:
    """The event-type catalogue: label, colour, JSON Schema of `data`, and a sample `data`."""
    return {
        "data": [
            {
                "type": t.type,
                "label": t.label,
                "colour": t.colour,
                "description": t.description,
                "schema": t.schema,
                "sample": t.sample,
            }
            for t in CATALOGUE.values()
        ]
    }
