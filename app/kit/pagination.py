"""Opaque cursors over time-ordered ids, and the one list envelope `{data, nextCursor}`."""

import base64
import binascii
from typing import Any, Generic, TypeVar

from pydantic import Field
from sqlalchemy import Select

from app.errors import ValidationFailed
from app.kit.schema import Schema

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(Schema, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(default=None)


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise ValidationFailed("Invalid cursor", fields={"cursor": "Invalid cursor"}) from None
    if not value or len(value) > 64 or not value.isascii():
        raise ValidationFailed("Invalid cursor", fields={"cursor": "Invalid cursor"})
    return value


def paginate_newest_first(
    query: Select[Any], id_column: Any, *, limit: int, cursor: str | None
) -> Select[Any]:
    """Keyset pagination, newest first: ids are time-ordered, so `id < cursor` is the next page."""
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    return query.order_by(id_column.desc()).limit(limit + 1)


def page_of(
    rows: list[Any], limit: int, id_of: Any = lambda row: row.id
) -> tuple[list[Any], str | None]:
    """Split the `limit + 1` rows a paginated query returned into a page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(id_of(rows[-1]))
    return rows, None
