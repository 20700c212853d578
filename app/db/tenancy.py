"""The one helper that scopes a query to a reseller. Foreign rows look exactly missing."""

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound

ModelT = TypeVar("ModelT")


def owned_by(model: Any, reseller_id: str) -> Select[Any]:
    query = select(model).where(model.reseller_id == reseller_id)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    return query


async def get_owned(
    session: AsyncSession, model: type[ModelT], reseller_id: str, object_id: str, *, what: str
) -> ModelT:
    row = (
        await session.execute(owned_by(model, reseller_id).where(model.id == object_id))  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{what} not found")
    return row  # type: ignore[no-any-return]
