from datetime import datetime

from pydantic import Field, StrictBool, field_validator

from app.kit.schema import InputSchema, Schema
from app.resellers.schemas import trimmed_name
from app.webhooks.schemas import not_null

MAX_OVERLAP_SECONDS = 30 * 86_400


class OrganisationOut(Schema):
    id: str
    name: str
    created_at: datetime
    enabled: bool
    events_last24h: int = Field(alias="eventsLast24h")
    ingest_keys: int  # live ingest keys


class OrganisationCreated(OrganisationOut):
    ingest_key: str


class OrganisationPatch(InputSchema):
    """Absent fields are left alone; an explicit null is a 422."""

    name: str | None = Field(default=None, max_length=1000)
    enabled: StrictBool | None = None

    _not_null = field_validator("name", "enabled", mode="before")(not_null)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else trimmed_name(value)


class IngestKeyIn(InputSchema):
    """Absent: add a key, the older ones stay valid. Set: a rotation, the older live keys
    expire `overlapSeconds` from now (0: at once)."""

    overlap_seconds: int | None = Field(default=None, ge=0, le=MAX_OVERLAP_SECONDS)

    _not_null = field_validator("overlap_seconds", mode="before")(not_null)


class IngestKeyOut(Schema):
    id: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None  # set while a rotation's overlap runs


class IngestKeyCreated(IngestKeyOut):
    ingest_key: str
