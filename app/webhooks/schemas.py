from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool, field_validator

from app.egress.url_policy import UrlRejected, check_webhook_url
from app.events.catalogue import CATALOGUE
from app.kit.schema import InputSchema, Schema, validation_settings
from app.resellers.schemas import trimmed_name

MASK = "•" * 24
MAX_IN_FLIGHT_LIMIT = 10_000  # attempts at once, across every worker
MAX_RATE_LIMIT = 10_000.0  # attempts per second, across every worker


def mask_secret(secret: str) -> str:
    return secret[:8] + MASK


def valid_event_list(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("Choose at least one event type")
    unknown = [event for event in value if event not in CATALOGUE]
    if unknown:
        raise ValueError(f"Unknown event type: {unknown[0][:100]}")
    if len(set(value)) != len(value):
        raise ValueError("Event types must be unique")
    return value


def policy_url(value: str) -> str:
    """The URL policy in the schema, so a bad URL is reported beside every other field."""
    settings = validation_settings.get()
    allow_private = bool(settings is not None and settings.allow_private_targets)
    try:
        return check_webhook_url(value, allow_private=allow_private)
    except UrlRejected as exc:
        raise ValueError(exc.reason) from None


def not_null(value: object) -> object:
    """PATCH: an absent field is left alone, an explicit null is an error."""
    if value is None:
        raise ValueError("May not be null")
    return value


class WebhookIn(InputSchema):
    name: str = Field(max_length=1000)
    url: str = Field(max_length=10_000)
    events: list[str] = Field(max_length=10)
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_IN_FLIGHT_LIMIT)
    rate_per_second: float | None = Field(default=None, gt=0, le=MAX_RATE_LIMIT)

    _name = field_validator("name")(trimmed_name)
    _url = field_validator("url")(policy_url)
    _events = field_validator("events")(valid_event_list)


class WebhookPatch(InputSchema):
    name: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=10_000)
    events: list[str] | None = Field(default=None, max_length=10)
    enabled: StrictBool | None = None
    # null removes the limit; absent leaves it as it is.
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_IN_FLIGHT_LIMIT)
    rate_per_second: float | None = Field(default=None, gt=0, le=MAX_RATE_LIMIT)

    _not_null = field_validator("name", "url", "events", "enabled", mode="before")(not_null)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else trimmed_name(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else policy_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else valid_event_list(value)


class WebhookOut(Schema):
    id: str
    name: str
    url: str
    events: list[str]
    secret_masked: str
    enabled: bool
    max_in_flight: int | None
    rate_per_second: float | None
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str


class SecretOut(Schema):
    secret: str


class RotatedSecretOut(Schema):
    secret: str
    secret_masked: str


class SimulateIn(InputSchema):
    event: str = Field(max_length=100)


class SimulationPreview(Schema):
    event: str
    payload: dict[str, Any]


class SimulationResult(Schema):
    delivered: bool
    status: int | None
    latency_ms: int | None
    headers: dict[str, str]
    payload: dict[str, Any]
    response_body: str | None
    error: str | None
