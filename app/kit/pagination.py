"""Opaque cursors over time-ordered ids, and the one list envelope `{data, nextCursor}`."""

import base64
import binascii
import re
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


# What a cursor wraps: one of our time-ordered ids (`app.kit.ids`).
_ID = re.compile(r"[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}")


def decode_cursor(cursor: str) -> str:
    """The id inside a cursor we issued; anything else (a typo, `' OR 1=1 --`) is a 422,
    never an empty page."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        value = raw.decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        value = ""
    if not _ID.fullmatch(value) or encode_cursor(value) != cursor:
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
