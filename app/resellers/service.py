from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import mint_key
from app.errors import NotFound
from app.kit.pagination import page_of, paginate_newest_first
from app.models import Reseller


async def create_reseller(session: AsyncSession, name: str) -> tuple[Reseller, str]:
    """A new tenant and its first API key (plaintext returned once)."""
    reseller = Reseller(name=name)
    session.add(reseller)
    await session.flush()
    key = mint_key(session, kind="reseller", reseller_id=reseller.id)
    await session.flush()
    return reseller, key.plaintext


async def list_resellers(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[Reseller], str | None]:
    query = paginate_newest_first(select(Reseller), Reseller.id, limit=limit, cursor=cursor)
    return page_of(list((await session.execute(query)).scalars()), limit)


async def get_reseller(session: AsyncSession, reseller_id: str) -> Reseller:
    reseller = await session.get(Reseller, reseller_id)
    if reseller is None:
        raise NotFound("Reseller not found")
    return reseller
