from fastapi import APIRouter

from app.auth.deps import ResellerAuth
from app.auth.route import ApiRoute
from app.db.session import SessionDep
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.organisations import service
from app.organisations.schemas import OrganisationCreated, OrganisationOut
from app.resellers.schemas import NameIn

router = APIRouter(prefix="/organisations", tags=["organisations"], route_class=ApiRoute)


@router.post("", status_code=201, response_model=OrganisationCreated)
async def create_organisation(
    body: NameIn, principal: ResellerAuth, session: SessionDep
) -> OrganisationCreated:
    """Create a child organisation; its ingest key is returned once."""
    org, ingest_key = await service.create_organisation(session, principal.reseller_id, body.name)
    return OrganisationCreated(
        id=org.id, name=org.name, created_at=org.created_at, ingest_key=ingest_key
    )


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
        data=[OrganisationOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )
