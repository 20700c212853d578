from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.deps import IngestAuth, IngestPrincipal, ResellerAuth, authenticate_ingest
from app.config import Settings
from app.db.errors import database_unreachable
from app.db.session import SessionDep
from app.errors import (
    ERROR_RESPONSES,
    Conflict,
    HooklineError,
    ValidationFailed,
    error_response,
)
from app.events import service
from app.events.catalogue import CATALOGUE
from app.events.group_commit import Ingest, unavailable
from app.events.intake import check_content_type, read_body
from app.events.schemas import (
    BatchAccepted,
    EventAccepted,
    EventBatchIn,
    EventDetail,
    EventIn,
    EventOut,
    EventTypeName,
    parse_body,
    validate_batch,
    validate_one,
)
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.kit.time import utc_now
from app.models import Event
from app.models.idempotency_key import MAX_KEY_LENGTH
from app.ops.tracing import IngestSpan, Tracing
from app.wire.envelope import Party

router = APIRouter(tags=["events"])


class LeanRoute(APIRoute):
    """The ingest hot path: the endpoint takes the `Request` and returns the `Response`.

    FastAPI documents the route from its declaration (body, responses, security) as
    usual, but per request there is no dependency solving and no response-model
    serialisation: the endpoint authenticates, reads and answers by itself.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)


ingest_router = APIRouter(tags=["events"], route_class=LeanRoute)


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """The body is read by hand (size cap, exact numbers), so document it explicitly."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "description": "Kept 24 h per organisation: a retry with the same key and "
                "body answers the original 202 and creates nothing; another body answers 409",
            }
        ],
    }


_EVENT_SCHEMA = EventIn.model_json_schema(by_alias=True)
_BATCH_SCHEMA = EventBatchIn.model_json_schema(by_alias=True)
_BATCH_SCHEMA["properties"]["events"]["items"] = _EVENT_SCHEMA
_BATCH_SCHEMA.pop("$defs", None)
_INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {**ERROR_RESPONSES[503], "description": description}
    for status, description in {
        408: "The body did not arrive in time",
        409: "The Idempotency-Key was used with another body",
        415: "The body is not JSON",
        503: "Database unavailable or the process's ingest budget spent; retry",
    }.items()
}
_REPLAYED = {"Idempotent-Replayed": "true"}


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        message = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        raise ValidationFailed(message, fields={"Idempotency-Key": message})
    return key


async def _parties(request: Request, principal: IngestPrincipal) -> tuple[Party, Party]:
    found = service.cached_parties(principal.reseller_id, principal.organisation_id)
    if found is not None:
        return found
    async with request.app.state.sessionmaker() as session:
        return await service.parties(session, principal.reseller_id, principal.organisation_id)


async def _accept(request: Request, *, batch: bool) -> Response:
    """The one ingest path, in its span when tracing is on (`app.ops.tracing`)."""
    tracing: Tracing | None = request.app.state.tracing
    if tracing is None:
        return await _ingest(request, batch=batch, span=None)
    with tracing.ingest(batch=batch) as span:
        return await _ingest(request, batch=batch, span=span)


async def _ingest(request: Request, *, batch: bool, span: IngestSpan | None) -> Response:
    """Authenticate, read, validate, prepare, commit."""
    received_at = utc_now()
    principal = await authenticate_ingest(request)  # 401/403 before any byte is read
    check_content_type(request)
    key = _idempotency_key(request)
    parent, organisation = await _parties(request, principal)
    settings: Settings = request.app.state.settings
    ingest: Ingest = request.app.state.ingest
    async with read_body(request, settings, ingest.budget) as body:
        raw = body.take()
        hashed = service.request_hash(request.url.path, raw) if key is not None else ""
        parsed = parse_body(raw)
        del raw
        events = (
            validate_batch(parsed, settings.max_batch_events) if batch else [validate_one(parsed)]
        )
        del parsed
        item = service.prepare(
            parent=parent,
            organisation=organisation,
            events=events,
            received_at=received_at,
            batch=batch,
            idempotency_key=key,
            hashed=hashed,
        )
        del events
        if span is not None:  # its context goes on every delivery row of the request
            item.traceparent = span.traceparent
            span.describe(
                reseller_id=principal.reseller_id,
                organisation_id=principal.organisation_id,
                event_ids=[e.id for e in item.events],
            )
        if batch:
            await ingest.committer.write_alone(item)
        else:
            await ingest.committer.submit(item)
    if item.conflict:
        raise Conflict("This Idempotency-Key was already used with another body")
    if span is not None:
        span.answered(202, deliveries=item.deliveries, replayed=item.replayed)
    return Response(
        item.response,
        202,
        media_type="application/json",
        headers=_REPLAYED if item.replayed else None,
    )


class IngestFastPath:
    """Pure ASGI, innermost of the app's middleware: `POST /v1/events` and `/v1/events/batch`
    go straight to `_accept`, past FastAPI's router and per-route wrappers (on this hot path
    route matching alone cost more than parsing and building the event).

    Everything outside it still applies (request id and access log, the JSON 500, the body
    limit); the routes below are the same endpoints for the schema and for any path the
    fast path does not take. Errors answer exactly as the app's handlers would.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        batch = _FAST_PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if batch is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await _accept(request, batch=batch)
        except HooklineError as exc:
            response = error_response(exc)
        except (DBAPIError, OSError) as exc:  # what the app's database handler maps to 503
            if not database_unreachable(exc):
                raise
            response = error_response(unavailable())
        await response(scope, receive, send)


_FAST_PATHS = {"/v1/events": False, "/v1/events/batch": True}


def _ingest_security(_: IngestAuth) -> None:
    """Documents the ingest key in the schema; `LeanRoute` never runs it."""


@ingest_router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    responses=_INGEST_RESPONSES,
    openapi_extra=_body_doc(_EVENT_SCHEMA),
    dependencies=[Depends(_ingest_security)],
)
async def ingest_event(request: Request) -> Response:
    """Accept one event; it and its deliveries are committed before the 202."""
    return await _accept(request, batch=False)


@ingest_router.post(
    "/events/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=_INGEST_RESPONSES,
    openapi_extra=_body_doc(_BATCH_SCHEMA),
    dependencies=[Depends(_ingest_security)],
)
async def ingest_batch(request: Request) -> Response:
    """Accept up to 1,000 events in one transaction: all or none."""
    return await _accept(request, batch=True)


router.include_router(ingest_router)


def _event_out(event: Event, organisation_name: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "event": event.event_type,
        "organisation_id": event.organisation_id,
        "organisation_name": organisation_name,
        "user_id": event.user_id,
        "team_id": event.team_id,
        "timestamp": event.timestamp_ms,
        "received_at": event.received_at,
        "size": event.size,
    }


@router.get("/events", response_model=Page[EventOut])
async def list_events(
    principal: ResellerAuth,
    session: SessionDep,
    event_type: Annotated[EventTypeName | None, Query(alias="type")] = None,
    organisation_id: Annotated[str | None, Query(alias="organisationId", max_length=64)] = None,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[EventOut]:
    """Recent events of the reseller's organisations, newest first."""
    rows, next_cursor = await service.list_events(
        session,
        principal.reseller_id,
        event_type=event_type,
        organisation_id=organisation_id,
        limit=limit,
        cursor=cursor,
    )
    return Page[EventOut](
        data=[EventOut.model_validate(_event_out(e, name)) for e, name in rows],
        next_cursor=next_cursor,
    )


@router.get("/events/{event_id}", response_model=EventDetail)
async def get_event(event_id: str, principal: ResellerAuth, session: SessionDep) -> Response:
    """One event with its full payload: the envelope exactly as delivered."""
    event, organisation_name = await service.get_event(session, principal.reseller_id, event_id)
    head = EventOut.model_validate(_event_out(event, organisation_name)).model_dump_json()
    # The stored canonical bytes are already JSON: splice them in rather than parse and
    # re-encode (which would also trip over lone surrogates the envelope may carry).
    content = head[:-1].encode() + b',"payload":' + event.body + b"}"
    return Response(content, media_type="application/json")


@router.get("/event-types")
async def list_event_types(_: ResellerAuth) -> dict[str, list[dict[str, Any]]]:
    """The event-type catalogue: label, colour, JSON Schema of `data`, and a sample `data`."""
    return {
        "data": [
            {
                "type": t.type,
                "label": t.label,
                "colour": t.colour,
                "description": t.description,
                "schema": t.schema,
                "sample": t.sample,
            }
            for t in CATALOGUE.values()
        ]
    }
