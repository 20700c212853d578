from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import mint_key
from app.db.tenancy import owned_by
from app.kit.pagination import page_of, paginate_newest_first
from app.models import Organisation


async def create_organisation(
    session: AsyncSession, reseller_id: str, name: str
) -> tuple[Organisation, str]:
    """A child organisation and its ingest key (plaintext returned once)."""
    organisation = Organisation(reseller_id=reseller_id, name=name)
    session.add(organisation)
    await session.flush()
    key = mint_key(session, kind="ingest", reseller_id=reseller_id, organisation_id=organisation.id)
    await session.flush()
    return organisation, key.plaintext


async def list_organisations(
    session: AsyncSession, reseller_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Organisation], str | None]:
    query = paginate_newest_first(
        owned_by(Organisation, reseller_id), Organisation.id, limit=limit, cursor=cursor
    )
    return page_of(list((await session.execute(query)).scalars()), limit)
