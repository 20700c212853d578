from fastapi import APIRouter, Response

from app.auth.deps import ResellerAuth
from app.auth.keys import MintedKey
from app.auth.route import ApiRoute
from app.db.session import SessionDep
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.organisations import service
from app.organisations.schemas import (
    IngestKeyCreated,
    IngestKeyIn,
    IngestKeyOut,
    OrganisationCreated,
    OrganisationOut,
    OrganisationPatch,
)
from app.resellers.schemas import NameIn

router = APIRouter(prefix="/organisations", tags=["organisations"], route_class=ApiRoute)


@router.post("", status_code=201, response_model=OrganisationCreated)
async def create_organisation(
    body: NameIn, principal: ResellerAuth, session: SessionDep
) -> OrganisationCreated:
    """Create a child organisation; its ingest key is returned once."""
    org, ingest_key = await service.create_organisation(session, principal.reseller_id, body.name)
    (out,) = await service.described(session, [org])
    return OrganisationCreated(**out.model_dump(), ingest_key=ingest_key)


@router.get("", response_model=Page[OrganisationOut])
async def list_organisations(
    principal: ResellerAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[OrganisationOut]:
    """List the reseller's child organisations, newest first."""
    rows, next_cursor = await service.list_organisations(
        session, principal.reseller_id, limit=limit, cursor=cursor
    )
    return Page[OrganisationOut](
        data=await service.described(session, rows), next_cursor=next_cursor
    )


@router.get("/{organisation_id}", response_model=OrganisationOut)
async def get_organisation(
    organisation_id: str, principal: ResellerAuth, session: SessionDep
) -> OrganisationOut:
    """One organisation, with its events of the last 24 h and its live ingest keys."""
    org = await service.get_organisation(session, principal.reseller_id, organisation_id)
    (out,) = await service.described(session, [org])
    return out


@router.patch("/{organisation_id}", response_model=OrganisationOut)
async def update_organisation(
    organisation_id: str, body: OrganisationPatch, principal: ResellerAuth, session: SessionDep
) -> OrganisationOut:
    """Rename, disable (its ingest keys answer 403, its history is kept) or enable."""
    org = await service.update_organisation(session, principal.reseller_id, organisation_id, body)
    (out,) = await service.described(session, [org])
    return out


def _key_out(row: object) -> IngestKeyOut:
    return IngestKeyOut.model_validate(row)


@router.get("/{organisation_id}/ingest-keys", response_model=Page[IngestKeyOut])
async def list_ingest_keys(
    organisation_id: str,
    principal: ResellerAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[IngestKeyOut]:
    """The organisation's live ingest keys, newest first; `expiresAt` during an overlap."""
    rows, next_cursor = await service.list_ingest_keys(
        session, principal.reseller_id, organisation_id, limit=limit, cursor=cursor
    )
    return Page[IngestKeyOut](data=[_key_out(r) for r in rows], next_cursor=next_cursor)


def _created(key: MintedKey) -> IngestKeyCreated:
    return IngestKeyCreated(**_key_out(key.row).model_dump(), ingest_key=key.plaintext)


@router.post("/{organisation_id}/ingest-keys", status_code=201, response_model=IngestKeyCreated)
async def add_ingest_key(
    organisation_id: str, body: IngestKeyIn, principal: ResellerAuth, session: SessionDep
) -> IngestKeyCreated:
    """A new ingest key, returned once. `{}` adds it beside the others; `overlapSeconds`
    rotates: the older keys expire that many seconds from now (0: at once)."""
    key = await service.add_ingest_key(
        session, principal.reseller_id, organisation_id, body.overlap_seconds
    )
    return _created(key)


@router.delete("/{organisation_id}/ingest-keys/{key_id}", status_code=204, response_class=Response)
async def revoke_ingest_key(
    organisation_id: str, key_id: str, principal: ResellerAuth, session: SessionDep
) -> Response:
    """Revoke one ingest key: refused (401) by every process within a second."""
    await service.revoke_ingest_key(session, principal.reseller_id, organisation_id, key_id)
    return Response(status_code=204)
