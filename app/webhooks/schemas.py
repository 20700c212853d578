from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator

from app.egress.url_policy import UrlRejected, check_webhook_url
from app.events.catalogue import CATALOGUE
from app.kit.schema import InputSchema, Schema, validation_settings
from app.resellers.schemas import trimmed_name

MASK = "•" * 24
MAX_IN_FLIGHT_LIMIT = 10_000  # attempts at once, across every worker
MAX_RATE_LIMIT = 10_000.0  # attempts per second, across every worker
MAX_ROUTED_ORGANISATIONS = 100  # organisationIds of one webhook
MAX_ROTATION_OVERLAP_SECONDS = 7 * 86_400
# app.wire.signature's SCHEMES, spelled out for the schema (and so the OpenAPI enum).
SignatureScheme = Literal["hookline", "standard-webhooks"]


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


def unique_organisations(value: list[str] | None) -> list[str] | None:
    """Routing's shape; that each id is one of the reseller's is checked by the service."""
    if value is None:
        return None
    if any(len(item) > 64 for item in value):
        raise ValueError("Unknown organisation id")
    if len(set(value)) != len(value):
        raise ValueError("Organisation ids must be unique")
    return value


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
    signature_scheme: SignatureScheme = "hookline"
    organisation_ids: list[str] | None = Field(default=None, max_length=MAX_ROUTED_ORGANISATIONS)
    # Deliveries carry a W3C `traceparent` header (the attempt's span) while tracing is on.
    send_traceparent: StrictBool = False

    _name = field_validator("name")(trimmed_name)
    _url = field_validator("url")(policy_url)
    _events = field_validator("events")(valid_event_list)
    _organisations = field_validator("organisation_ids")(unique_organisations)


class WebhookPatch(InputSchema):
    name: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=10_000)
    events: list[str] | None = Field(default=None, max_length=10)
    enabled: StrictBool | None = None
    # null removes the limit; absent leaves it as it is.
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_IN_FLIGHT_LIMIT)
    rate_per_second: float | None = Field(default=None, gt=0, le=MAX_RATE_LIMIT)
    # Changing it mints a fresh secret in the new scheme's format (service.update_webhook).
    signature_scheme: SignatureScheme | None = None
    # null or []: every organisation; absent leaves the routing as it is.
    organisation_ids: list[str] | None = Field(default=None, max_length=MAX_ROUTED_ORGANISATIONS)
    _organisations = field_validator("organisation_ids")(unique_organisations)
    send_traceparent: StrictBool | None = None

    _not_null = field_validator(
        "name", "url", "events", "enabled", "signature_scheme", "send_traceparent", mode="before"
    )(not_null)

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
    signature_scheme: SignatureScheme
    organisation_ids: list[str]  # []: every organisation of the reseller
    # Until then standard-webhooks deliveries carry the previous secret's signature too.
    previous_secret_expires_at: datetime | None
    send_traceparent: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str


class SecretOut(Schema):
    secret: str


class RotateSecretIn(InputSchema):
    # Absent: HOOKLINE_SECRET_ROTATION_OVERLAP_SECONDS; 0: the old secret stops at once.
    overlap_seconds: int | None = Field(default=None, ge=0, le=MAX_ROTATION_OVERLAP_SECONDS)


class RotatedSecretOut(Schema):
    secret: str
    secret_masked: str
    previous_secret_expires_at: datetime | None


class SimulateIn(InputSchema):
    event: str = Field(max_length=100)


class SimulationPreview(Schema):
    event: str
    payload: dict[str, Any]


class SimulationTiming(Schema):
    """Milliseconds per phase (`app.egress.timing`); None: the phase did not happen."""

    dns: float | None
    connect: float | None
    tls: float | None
    first_byte: float | None
    total: float


class SelfCheck(Schema):
    """The mis-signed copy (`app.webhooks.self_check`)."""

    sent: bool
    status: int | None
    accepted_bad_signature: bool
    error: str | None


class SimulationResult(Schema):
    delivered: bool
    status: int | None
    latency_ms: int | None
    headers: dict[str, str]
    payload: dict[str, Any]
    response_body: str | None
    error: str | None
    timing: SimulationTiming
    self_check: SelfCheck
