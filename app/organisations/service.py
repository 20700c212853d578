"""Organisations and their ingest keys: create, read, rename, disable; add, rotate, revoke.

Whatever refuses a key from now on (revoking, a rotation's overlap, disabling the
organisation) is announced (`app.auth.revocation`): every process forgets its cached
key verdicts at commit, and none keeps one longer than a second without hearing.
"""

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import MintedKey, live_key, mint_key
from app.auth.revocation import announce
from app.db.rows import changed_rows
from app.db.tenancy import get_owned, owned_by
from app.errors import NotFound
from app.kit.ids import first_id_at
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.time import utc_now
from app.models import ApiKey, Event, Organisation
from app.organisations.schemas import OrganisationOut, OrganisationPatch

log = logging.getLogger(__name__)


async def create_organisation(
    session: AsyncSession, reseller_id: str, name: str
) -> tuple[Organisation, str]:
    """A child organisation and its ingest key (plaintext returned once)."""
    organisation = Organisation(reseller_id=reseller_id, name=name, enabled=True)
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


async def get_organisation(
    session: AsyncSession, reseller_id: str, organisation_id: str
) -> Organisation:
    return await get_owned(session, Organisation, reseller_id, organisation_id, what="Organisation")


async def described(session: AsyncSession, rows: list[Organisation]) -> list[OrganisationOut]:
    """Each organisation with its events of the last 24 h and its live ingest keys: two
    grouped queries per page. Event ids are time-ordered, so "the last 24 h" is an id
    range on the `(organisation_id, id)` index, not a scan of `received_at`."""
    ids = [row.id for row in rows]
    now = utc_now()
    events: dict[str, int] = {}
    keys: dict[str, int] = {}
    if ids:
        since = first_id_at("evt", now - timedelta(hours=24))
        counted = await session.execute(
            select(Event.organisation_id, func.count())
            .where(Event.organisation_id.in_(ids), Event.id >= since)
            .group_by(Event.organisation_id)
        )
        events = dict(counted.tuples().all())
        counted = await session.execute(
            select(ApiKey.organisation_id, func.count())
            .where(ApiKey.organisation_id.in_(ids), ApiKey.kind == "ingest", live_key(ApiKey, now))
            .group_by(ApiKey.organisation_id)
        )
        keys = {org: count for org, count in counted.tuples() if org is not None}
    return [
        OrganisationOut(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            enabled=row.enabled,
            events_last24h=events.get(row.id, 0),
            ingest_keys=keys.get(row.id, 0),
        )
        for row in rows
    ]


async def update_organisation(
    session: AsyncSession, reseller_id: str, organisation_id: str, patch: OrganisationPatch
) -> Organisation:
    """Rename and/or enable or disable. Disabling keeps every event and delivery; only
    its ingest keys are refused (403) until it is enabled again. A rename shows in the
    envelope of the next event."""
    organisation = await get_organisation(session, reseller_id, organisation_id)
    changed = False
    if patch.name is not None and patch.name != organisation.name:
        organisation.name, changed = patch.name, True  # the envelope's cached name
    if patch.enabled is not None and patch.enabled != organisation.enabled:
        organisation.enabled, changed = patch.enabled, True  # its keys' cached verdicts
    await session.flush()
    if changed:
        await announce(session)
        log.info(
            "organisation %s: name or state changed (enabled=%s)",
            organisation.id,
            organisation.enabled,
        )
    return organisation


def _live_ingest_keys(organisation_id: str) -> Any:
    return select(ApiKey).where(
        ApiKey.organisation_id == organisation_id,
        ApiKey.kind == "ingest",
        live_key(ApiKey, utc_now()),
    )


async def list_ingest_keys(
    session: AsyncSession,
    reseller_id: str,
    organisation_id: str,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[ApiKey], str | None]:
    """The organisation's live ingest keys (those in a rotation's overlap included)."""
    await get_organisation(session, reseller_id, organisation_id)
    query = paginate_newest_first(
        _live_ingest_keys(organisation_id), ApiKey.id, limit=limit, cursor=cursor
    )
    return page_of(list((await session.execute(query)).scalars()), limit)


async def add_ingest_key(
    session: AsyncSession, reseller_id: str, organisation_id: str, overlap_seconds: int | None
) -> MintedKey:
    """A new ingest key. With `overlap_seconds` a rotation: every older live key expires
    that long from now (0: at once), never later than it already would."""
    await get_organisation(session, reseller_id, organisation_id)
    if overlap_seconds is not None:
        ends = utc_now() + timedelta(seconds=overlap_seconds)
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.organisation_id == organisation_id,
                ApiKey.kind == "ingest",
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > ends),
            )
            .values(expires_at=ends),
            execution_options={"synchronize_session": False},
        )
        await announce(session)
        log.info(
            "rotating ingest keys of %s: older keys end in %d s", organisation_id, overlap_seconds
        )
    key = mint_key(session, kind="ingest", reseller_id=reseller_id, organisation_id=organisation_id)
    await session.flush()
    return key


async def revoke_ingest_key(
    session: AsyncSession, reseller_id: str, organisation_id: str, key_id: str
) -> None:
    """Revoke one live ingest key (the last one too: the organisation then cannot ingest
    until a key is added)."""
    await get_organisation(session, reseller_id, organisation_id)
    now = utc_now()
    result = await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            ApiKey.organisation_id == organisation_id,
            ApiKey.kind == "ingest",
            live_key(ApiKey, now),
        )
        .values(revoked_at=now),
        execution_options={"synchronize_session": False},
    )
    if changed_rows(result) == 0:
        raise NotFound("Ingest key not found")
    await announce(session)
    log.info("revoked ingest key %s of organisation %s", key_id, organisation_id)
