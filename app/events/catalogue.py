"""The event-type catalogue: the three desktop-agent types, their JSON Schemas and samples.

The shapes are those of the desktop agent (SPEC Appendix A). Samples feed the
catalogue endpoint and the simulations, so both always show the same payloads.
"""

from dataclasses import dataclass
from typing import Any

APP_TRACKING = "desktop.app_tracking.captured"
SCREENSHOT_TRACKING = "desktop.screenshot_tracking.captured"
ACTIVITY_TRACKING = "desktop.activity_tracking.captured"


@dataclass(frozen=True, slots=True)
class EventType:
    type: str
    label: str
    colour: str
    description: str
    schema: dict[str, Any]
    sample: Any


def _ids_schema() -> dict[str, Any]:
    def ref(key: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: {"type": ["string", "integer"]}},
            "required": [key],
        }

    return {
        "organisation": ref("organisationId"),
        "team": ref("teamId"),
        "user": ref("userId"),
    }


_APP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "type": {"enum": ["website", "application"]},
        "category": {"type": "string"},
        "iconUrl": {"type": "string"},
        "domain": {"type": "string"},
        "fullUrl": {"type": "string"},
        "productivityStatus": {"enum": ["productive", "neutral", "unproductive"]},
    },
}
_OS_SCHEMA: dict[str, Any] = {"enum": ["macos", "windows", "linux"]}


def _item_schema(key: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_ids_schema(), key: body},
        "required": ["organisation", "team", "user", key],
    }


_TRACKING_ITEM = _item_schema(
    "tracking",
    {
        "type": "object",
        "properties": {
            "trackingId": {"type": "string"},
            "app": _APP_SCHEMA,
            "time": {
                "type": "object",
                "properties": {
                    "startDate": {"type": "string", "format": "date-time"},
                    "endDate": {"type": "string", "format": "date-time"},
                    "durationInSeconds": {"type": "integer"},
                },
            },
            "trackingMode": {"const": "online"},
            "operatingSystem": _OS_SCHEMA,
        },
    },
)
_SCREENSHOT_ITEM = _item_schema(
    "screenshot",
    {
        "type": "object",
        "properties": {
            "screenshotId": {"type": "string"},
            "imageBuffer": {"type": "string", "contentEncoding": "base64"},
            "app": _APP_SCHEMA,
            "time": {
                "type": "object",
                "properties": {"capturedAt": {"type": "string", "format": "date-time"}},
            },
            "operatingSystem": _OS_SCHEMA,
            "workType": {"enum": ["office", "remote", "hybrid"]},
            "isIdle": {"type": "boolean"},
        },
    },
)
_ACTIVITY_ITEM = _item_schema(
    "activity",
    {
        "type": "object",
        "properties": {"workMode": {"type": "boolean"}, "privacyMode": {"type": "boolean"}},
        "required": ["workMode", "privacyMode"],
    },
)


def _ids(org: str = "org_demo", team: str = "team_42", user: str = "user_1001") -> dict[str, Any]:
    return {
        "organisation": {"organisationId": org},
        "team": {"teamId": team},
        "user": {"userId": user},
    }


# Simulations send a short placeholder, not a real screenshot (SPEC Appendix A).
SAMPLE_IMAGE_PLACEHOLDER = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"

_SAMPLE_APP = {
    "name": "GitHub",
    "type": "website",
    "category": "Development",
    "iconUrl": "https://github.com/favicon.ico",
    "domain": "github.com",
    "fullUrl": "https://github.com/trackpilots/agent",
    "productivityStatus": "productive",
}

CATALOGUE: dict[str, EventType] = {
    APP_TRACKING: EventType(
        APP_TRACKING,
        "Tracking Event",
        "blue",
        "Fired when app/website usage is tracked on an employee's desktop",
        {"type": "array", "items": _TRACKING_ITEM},
        [
            {
                **_ids(),
                "tracking": {
                    "trackingId": "trk_sample_0001",
                    "app": _SAMPLE_APP,
                    "time": {
                        "startDate": "2026-01-28T09:00:00.000Z",
                        "endDate": "2026-01-28T09:05:00.000Z",
                        "durationInSeconds": 300,
                    },
                    "trackingMode": "online",
                    "operatingSystem": "macos",
                },
            }
        ],
    ),
    SCREENSHOT_TRACKING: EventType(
        SCREENSHOT_TRACKING,
        "Screenshot Event",
        "orange",
        "Fired when a screenshot is captured from an employee's desktop",
        {"type": "array", "items": _SCREENSHOT_ITEM},
        [
            {
                **_ids(),
                "screenshot": {
                    "screenshotId": "scr_sample_0001",
                    "imageBuffer": SAMPLE_IMAGE_PLACEHOLDER,
                    "app": _SAMPLE_APP,
                    "time": {"capturedAt": "2026-01-28T09:03:12.000Z"},
                    "operatingSystem": "windows",
                    "workType": "remote",
                    "isIdle": False,
                },
            }
        ],
    ),
    ACTIVITY_TRACKING: EventType(
        ACTIVITY_TRACKING,
        "Activity Event",
        "green",
        "Fired when an employee's work mode or privacy mode status changes",
        _ACTIVITY_ITEM,
        {**_ids(), "activity": {"workMode": True, "privacyMode": False}},
    ),
}

EVENT_TYPES: tuple[str, ...] = tuple(CATALOGUE)
