"""Query parameters shared by every list route."""

from typing import Annotated

from fastapi import Query

from app.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT

LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
CursorParam = Annotated[
    str | None, Query(max_length=200, description="Opaque cursor from `nextCursor`")
]
DEFAULT_PAGE = DEFAULT_LIMIT
