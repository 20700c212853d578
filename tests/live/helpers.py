"""Shared steps of the live tests: ingest over HTTP, event bodies of each type."""

from typing import Any

import httpx

from tests.support.factories import Tenant, app_event

ACTIVITY = "desktop.activity_tracking.captured"
SCREENSHOT = "desktop.screenshot_tracking.captured"
APP = "desktop.app_tracking.captured"


async def ingest(http: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    """POST /v1/events with the tenant's ingest key; returns the event id."""
    response = await http.post("/v1/events", json=body, headers=tenant.ingest_headers)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["id"]
    return event_id


def activity_event(user_id: str = "user_1", team_id: str = "team_1") -> dict[str, Any]:
    ids = {
        "organisation": {"organisationId": "o1"},
        "team": {"teamId": team_id},
        "user": {"userId": user_id},
    }
    return {
        "event": ACTIVITY,
        "userId": user_id,
        "teamId": team_id,
        "data": {**ids, "activity": {"workMode": True, "privacyMode": False}},
    }


def screenshot_event(image_bytes: int, user_id: str = "user_1") -> dict[str, Any]:
    """A screenshot event whose base64 image makes the envelope about `image_bytes` long."""
    return {
        "event": SCREENSHOT,
        "userId": user_id,
        "teamId": "team_1",
        "data": [
            {
                "organisation": {"organisationId": "o1"},
                "team": {"teamId": "team_1"},
                "user": {"userId": user_id},
                "screenshot": {
                    "screenshotId": "scr_1",
                    "imageBuffer": "A" * image_bytes,
                    "operatingSystem": "linux",
                    "isIdle": False,
                },
            }
        ],
    }


__all__ = ["APP", "activity_event", "app_event", "ingest", "screenshot_event"]
