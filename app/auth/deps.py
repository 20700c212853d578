"""Security as `Annotated` dependencies, so a route's signature shows who may call it.

Missing or unknown credentials answer 401; a valid credential of the wrong kind (the
admin token on a reseller or ingest route included) answers 403.

Reseller and admin checks use a short session of their own, closed before the route
reads its body or opens the request's session, and remember their principal on the
request, so `app.auth.route.ApiRoute` can run them before FastAPI reads the body.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.keys import KnownKey, admin_token_matches, authenticate, find_key, known_key
from app.auth.usage import KeyUsage
from app.config import Settings
from app.errors import Forbidden, HooklineError, NotFound, Unauthorized
from app.kit.time import utc_now

_bearer = HTTPBearer(auto_error=False, description="`hk_…` reseller key, `ik_…` ingest key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class ResellerPrincipal:
    reseller_id: str
    key_id: str  # the key making the request (`current` in the key list)


@dataclass(frozen=True, slots=True)
class IngestPrincipal:
    reseller_id: str
    organisation_id: str


class OrganisationDisabled(HooklineError):
    """A valid ingest key of a disabled organisation: its own code, so a desktop can tell
    it from a key of the wrong kind."""

    status_code = 403
    code = "organisation_disabled"


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


def _used(request: Request, key: KnownKey) -> None:
    """Remember the use for the next batched `last_used_at` write (`app.auth.usage`)."""
    usage: KeyUsage = request.app.state.key_usage
    usage.touch(key.id, utc_now())


def _refuse_admin_token(request: Request, token: str, kind: str) -> None:
    """The admin token is a valid credential, of the wrong kind here: 403, not 401."""
    settings: Settings = request.app.state.settings
    admin = settings.admin_token
    if admin is not None and admin_token_matches(token, admin.get_secret_value()):
        raise Forbidden(f"This endpoint needs a {kind} key, not the admin token")


_PRINCIPAL = "hookline_principal"


async def authenticate_reseller(request: Request) -> ResellerPrincipal:
    """The request's reseller, checked once per request (cached on `request.state`)."""
    cached = getattr(request.state, _PRINCIPAL, None)
    if isinstance(cached, ResellerPrincipal):
        return cached
    token = _token(await _bearer(request))
    _refuse_admin_token(request, token, "reseller")
    async with request.app.state.sessionmaker() as session:
        key = await _key_of_kind(session, token, "reseller")
    _used(request, key)
    principal = ResellerPrincipal(key.reseller_id, key.id)
    setattr(request.state, _PRINCIPAL, principal)
    return principal


async def _reseller(request: Request, _: BearerDep) -> ResellerPrincipal:
    return await authenticate_reseller(request)


def _bearer_token(request: Request) -> str:
    """What `HTTPBearer` + `_token` check, without a dependency call (the ingest hot path)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Missing bearer token")
    return token


async def authenticate_ingest(request: Request) -> IngestPrincipal:
    """The ingest key's organisation. A key-cache hit needs no session; a miss reads with a
    short session of its own, closed before the caller reads the body (ingest calls this
    first)."""
    token = _bearer_token(request)
    _refuse_admin_token(request, token, "ingest")
    key = known_key(token)
    if key is None:
        async with request.app.state.sessionmaker() as session:
            key = await _key_of_kind(session, token, "ingest")
    elif key.kind != "ingest":
        raise Forbidden("This endpoint needs a ingest key")
    if not key.organisation_enabled:
        raise OrganisationDisabled(
            "This organisation is disabled: its ingest keys are refused until it is enabled"
        )
    assert key.organisation_id is not None
    _used(request, key)
    return IngestPrincipal(key.reseller_id, key.organisation_id)


async def _ingest(request: Request, _: BearerDep) -> IngestPrincipal:
    return await authenticate_ingest(request)


async def authenticate_admin(request: Request) -> None:
    """Checks the admin token once per request (remembered on `request.state`)."""
    if getattr(request.state, _PRINCIPAL, None) == "admin":
        return
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        raise NotFound("The admin API is disabled (HOOKLINE_ADMIN_TOKEN is not set)")
    token = _token(await _bearer(request))
    if not admin_token_matches(token, settings.admin_token.get_secret_value()):
        async with request.app.state.sessionmaker() as session:
            if await find_key(session, token) is not None:
                raise Forbidden("This endpoint needs the admin token")
        raise Unauthorized("Invalid admin token")
    setattr(request.state, _PRINCIPAL, "admin")


async def _admin(request: Request, _: BearerDep) -> None:
    await authenticate_admin(request)


# What `ApiRoute` runs before the body is read, by dependency.
EARLY_AUTH = {_reseller: authenticate_reseller, _admin: authenticate_admin}


ResellerAuth = Annotated[ResellerPrincipal, Depends(_reseller)]
IngestAuth = Annotated[IngestPrincipal, Depends(_ingest)]
AdminAuth = Annotated[None, Depends(_admin)]
