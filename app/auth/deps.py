"""Security as `Annotated` dependencies, so a route's signature shows who may call it.

Missing or unknown credentials answer 401; a valid key of the wrong kind answers 403.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import KnownKey, admin_token_matches, authenticate, find_key
from app.config import Settings
from app.db.session import SessionDep
from app.errors import Forbidden, NotFound, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="`hk_…` reseller key, `ik_…` ingest key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class ResellerPrincipal:
    reseller_id: str


@dataclass(frozen=True, slots=True)
class IngestPrincipal:
    reseller_id: str
    organisation_id: str


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Missing bearer token")
    return credentials.credentials


async def _key_of_kind(session: AsyncSession, token: str, kind: str) -> KnownKey:
    key = await authenticate(session, token)
    if key is None:
        raise Unauthorized("Invalid API key")
    if key.kind != kind:
        raise Forbidden(f"This endpoint needs a {kind} key")
    return key


async def _reseller(credentials: BearerDep, session: SessionDep) -> ResellerPrincipal:
    key = await _key_of_kind(session, _token(credentials), "reseller")
    return ResellerPrincipal(key.reseller_id)


async def _ingest(credentials: BearerDep, session: SessionDep) -> IngestPrincipal:
    key = await _key_of_kind(session, _token(credentials), "ingest")
    assert key.organisation_id is not None
    return IngestPrincipal(key.reseller_id, key.organisation_id)


async def _admin(request: Request, credentials: BearerDep, session: SessionDep) -> None:
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        raise NotFound("The admin API is disabled (HOOKLINE_ADMIN_TOKEN is not set)")
    token = _token(credentials)
    if not admin_token_matches(token, settings.admin_token.get_secret_value()):
        if await find_key(session, token) is not None:
            raise Forbidden("This endpoint needs the admin token")
        raise Unauthorized("Invalid admin token")


ResellerAuth = Annotated[ResellerPrincipal, Depends(_reseller)]
IngestAuth = Annotated[IngestPrincipal, Depends(_ingest)]
AdminAuth = Annotated[None, Depends(_admin)]
