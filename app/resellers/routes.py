from fastapi import APIRouter

from app.auth.deps import AdminAuth, ResellerAuth
from app.auth.route import ApiRoute
from app.db.session import SessionDep
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.resellers import service
from app.resellers.schemas import MeOut, NameIn, ResellerCreated, ResellerOut

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
