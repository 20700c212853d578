from fastapi import APIRouter, Response

from app.auth.deps import AdminAuth, ResellerAuth
from app.auth.keys import MintedKey
from app.auth.route import ApiRoute
from app.db.session import SessionDep
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.models import ApiKey
from app.resellers import service
from app.resellers.schemas import (
    ApiKeyCreated,
    ApiKeyOut,
    MeOut,
    NameIn,
    ResellerCreated,
    ResellerOut,
)

router = APIRouter(tags=["resellers"], route_class=ApiRoute)


@router.post("/admin/resellers", status_code=201, response_model=ResellerCreated)
async def create_reseller(body: NameIn, _: AdminAuth, session: SessionDep) -> ResellerCreated:
    """Create a reseller; its API key is returned once."""
    reseller, api_key = await service.create_reseller(session, body.name)
    return ResellerCreated(
        id=reseller.id, name=reseller.name, created_at=reseller.created_at, api_key=api_key
    )


@router.get("/admin/resellers", response_model=Page[ResellerOut])
async def list_resellers(
    _: AdminAuth, session: SessionDep, limit: LimitParam = DEFAULT_PAGE, cursor: CursorParam = None
) -> Page[ResellerOut]:
    """List resellers, newest first."""
    rows, next_cursor = await service.list_resellers(session, limit=limit, cursor=cursor)
    return Page[ResellerOut](
        data=[ResellerOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/me", response_model=MeOut)
async def me(principal: ResellerAuth, session: SessionDep) -> MeOut:
    """The reseller the API key belongs to."""
    return MeOut.model_validate(await service.get_reseller(session, principal.reseller_id))


def _created(key: MintedKey) -> ApiKeyCreated:
    row = key.row
    assert row.name is not None
    return ApiKeyCreated(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        api_key=key.plaintext,
    )


def _page(rows: list[ApiKey], next_cursor: str | None, current: str | None) -> Page[ApiKeyOut]:
    data = [
        ApiKeyOut(
            id=r.id,
            name=r.name or "",
            prefix=r.prefix,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            current=r.id == current,
        )
        for r in rows
    ]
    return Page[ApiKeyOut](data=data, next_cursor=next_cursor)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(
    body: NameIn, principal: ResellerAuth, session: SessionDep
) -> ApiKeyCreated:
    """Another API key of this reseller; the plaintext is returned once."""
    return _created(await service.create_api_key(session, principal.reseller_id, body.name))


@router.get("/api-keys", response_model=Page[ApiKeyOut])
async def list_api_keys(
    principal: ResellerAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[ApiKeyOut]:
    """This reseller's live API keys, newest first; `current` marks the one in use."""
    rows, next_cursor = await service.list_api_keys(
        session, principal.reseller_id, limit=limit, cursor=cursor
    )
    return _page(rows, next_cursor, principal.key_id)


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response)
async def revoke_api_key(key_id: str, principal: ResellerAuth, session: SessionDep) -> Response:
    """Revoke an API key (refused by every process within a second); never the last (409)."""
    await service.revoke_api_key(session, principal.reseller_id, key_id, keep_last=True)
    return Response(status_code=204)


@router.post(
    "/admin/resellers/{reseller_id}/api-keys", status_code=201, response_model=ApiKeyCreated
)
async def admin_create_api_key(
    reseller_id: str, body: NameIn, _: AdminAuth, session: SessionDep
) -> ApiKeyCreated:
    """Another API key for any reseller; the plaintext is returned once."""
    return _created(await service.create_api_key(session, reseller_id, body.name))


@router.get("/admin/resellers/{reseller_id}/api-keys", response_model=Page[ApiKeyOut])
async def admin_list_api_keys(
    reseller_id: str,
    _: AdminAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[ApiKeyOut]:
    """Any reseller's live API keys, newest first."""
    await service.get_reseller(session, reseller_id)
    rows, next_cursor = await service.list_api_keys(
        session, reseller_id, limit=limit, cursor=cursor
    )
    return _page(rows, next_cursor, None)


@router.delete(
    "/admin/resellers/{reseller_id}/api-keys/{key_id}", status_code=204, response_class=Response
)
async def admin_revoke_api_key(
    reseller_id: str, key_id: str, _: AdminAuth, session: SessionDep
) -> Response:
    """Revoke any reseller's API key, the last one included (the operator locking a
    tenant out)."""
    await service.revoke_api_key(session, reseller_id, key_id, keep_last=False)
    return Response(status_code=204)
