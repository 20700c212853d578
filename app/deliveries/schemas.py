from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from app.kit.schema import InputSchema, Schema
from app.webhooks.schemas import valid_event_list


class DeliveryOut(Schema):
    id: str
    event_id: str
    webhook_id: str
    organisation_id: str | None  # the event's organisation (None once the event is pruned)
    event: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class AttemptOut(Schema):
    id: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_body: str | None
    error: str | None
    kind: str | None  # egress AttemptKind; null for attempts recorded before it was
    request_headers: dict[str, str] | None  # as sent (signature as computed, never the secret)


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


RecoverableStatus = Literal["failed", "cancelled"]
BOTH: list[RecoverableStatus] = ["cancelled", "failed"]


# Times the time-ordered ids can express (48 bits of milliseconds since 1970): a window
# bound outside is a 422, never a silently empty (or overflowing) range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Must be between 1970 and 2999"


def in_range(value: datetime | None) -> datetime | None:
    if value is not None and not EARLIEST <= value < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return value


class Window(InputSchema):
    """A time range `[since, until)`; `until` absent means now."""

    since: AwareDatetime
    until: AwareDatetime | None = None

    _in_range = field_validator("since", "until")(in_range)

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class RecoverIn(Window):
    statuses: list[RecoverableStatus] = Field(
        default_factory=lambda: list(BOTH), min_length=1, max_length=2
    )
    event_types: list[str] | None = Field(default=None, max_length=10)

    @field_validator("statuses")
    @classmethod
    def _unique(cls, value: list[RecoverableStatus]) -> list[RecoverableStatus]:
        return sorted(set(value))

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if not value else valid_event_list(value)


class RecoveryOut(Schema):
    id: str
    webhook_id: str
    state: Literal["running", "done", "stopped"]
    since: datetime
    until: datetime
    statuses: list[str]
    event_types: list[str] | None
    matched: int
    queued: int
    created_at: datetime
    finished_at: datetime | None


class ReplayOut(Schema):
    webhook_id: str
    since: datetime
    until: datetime
    created: int
    clamped: bool
