import logging
from typing import Any

from sqlalchemy import Select, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.keys import MintedKey, live_key, mint_key
from app.auth.revocation import announce
from app.db.rows import changed_rows
from app.errors import Conflict, NotFound
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.time import utc_now
from app.models import ApiKey, Reseller

log = logging.getLogger(__name__)

# Made with the reseller (and the name the migration gave the keys made before names).
FIRST_KEY_NAME = "Default"


async def create_reseller(session: AsyncSession, name: str) -> tuple[Reseller, str]:
    """A new tenant and its first API key (plaintext returned once)."""
    reseller = Reseller(name=name)
    session.add(reseller)
    await session.flush()
    key = mint_key(session, kind="reseller", reseller_id=reseller.id, name=FIRST_KEY_NAME)
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


def _live_api_keys(reseller_id: str) -> Select[Any]:
    return select(ApiKey).where(
        ApiKey.reseller_id == reseller_id, ApiKey.kind == "reseller", live_key(ApiKey, utc_now())
    )


async def create_api_key(session: AsyncSession, reseller_id: str, name: str) -> MintedKey:
    """Another API key of the reseller (404 for the admin naming a missing reseller)."""
    await get_reseller(session, reseller_id)
    key = mint_key(session, kind="reseller", reseller_id=reseller_id, name=name)
    await session.flush()
    return key


async def list_api_keys(
    session: AsyncSession, reseller_id: str, *, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    """The reseller's live API keys, newest first (revoked ones are gone from the list)."""
    query = paginate_newest_first(
        _live_api_keys(reseller_id), ApiKey.id, limit=limit, cursor=cursor
    )
    return page_of(list((await session.execute(query)).scalars()), limit)


async def revoke_api_key(
    session: AsyncSession, reseller_id: str, key_id: str, *, keep_last: bool
) -> None:
    """Revoke one live API key; with `keep_last`, never the reseller's last one (409).

    One conditional UPDATE decides, so two revocations at once cannot both pass the
    "another key stays" check: on PostgreSQL the reseller's row is locked first (each
    statement then sees the other's commit), on SQLite the one writer runs it whole.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Reseller.id).where(Reseller.id == reseller_id).with_for_update()
        )
    now = utc_now()
    condition = [
        ApiKey.id == key_id,
        ApiKey.reseller_id == reseller_id,
        ApiKey.kind == "reseller",
        live_key(ApiKey, now),
    ]
    if keep_last:
        other = aliased(ApiKey)
        condition.append(
            exists().where(
                other.reseller_id == reseller_id,
                other.kind == "reseller",
                other.id != key_id,
                live_key(other, now),
            )
        )
    result = await session.execute(
        update(ApiKey).where(*condition).values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
    if changed_rows(result) == 0:
        found = await session.scalar(_live_api_keys(reseller_id).where(ApiKey.id == key_id))
        if found is None:
            raise NotFound("API key not found")
        raise Conflict(
            "This is the reseller's last API key: create another before revoking this one"
        )
    await announce(session)
    log.info("revoked API key %s of reseller %s", key_id, reseller_id)
