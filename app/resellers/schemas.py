from datetime import datetime

from pydantic import Field, field_validator

from app.kit.schema import InputSchema, Schema


def trimmed_name(value: str) -> str:
    """Names are trimmed, then must hold 1 to 100 characters.

    A NUL or a lone surrogate is refused (422): neither database can store them in text,
    and a name is shown, not a payload to carry byte for byte.
    """
    value = value.strip()
    if not value:
        raise ValueError("Name must not be empty")
    if len(value) > 100:
        raise ValueError("Name must be at most 100 characters")
    if "\x00" in value:
        raise ValueError("Name must not contain NUL characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("Name must not contain lone surrogates")
    return value


class NameIn(InputSchema):
    name: str = Field(max_length=1000)

    _trim = field_validator("name")(trimmed_name)


class ResellerOut(Schema):
    id: str
    name: str
    created_at: datetime


class ResellerCreated(ResellerOut):
    api_key: str


class MeOut(Schema):
    id: str
    name: str


class ApiKeyOut(Schema):
    """A reseller API key as listed: never its hash or plaintext."""

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    current: bool = False  # the key making this request (the dashboard signs out on revoke)


class ApiKeyCreated(Schema):
    id: str
    name: str
    prefix: str
    created_at: datetime
    api_key: str
