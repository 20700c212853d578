from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.auth.deps import IngestAuth, ResellerAuth
from app.db.session import SessionDep
from app.errors import PayloadTooLarge
from app.events import service
from app.events.catalogue import CATALOGUE
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
from app.kit.state import SettingsDep, SignalsDep
from app.kit.time import utc_now
from app.models import Event

router = APIRouter(tags=["events"])


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """The body is read by hand (size cap, exact numbers), so document it explicitly."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_EVENT_SCHEMA = EventIn.model_json_schema(by_alias=True)
_BATCH_SCHEMA = EventBatchIn.model_json_schema(by_alias=True)
_BATCH_SCHEMA["properties"]["events"]["items"] = _EVENT_SCHEMA
_BATCH_SCHEMA.pop("$defs", None)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 before parsing when it exceeds the limit."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"The body exceeds {limit} bytes (HOOKLINE_MAX_EVENT_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # no or lying Content-Length: count as we read
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes (HOOKLINE_MAX_EVENT_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    openapi_extra=_body_doc(_EVENT_SCHEMA),
)
async def ingest_event(
    request: Request,
    principal: IngestAuth,
    session: SessionDep,
    settings: SettingsDep,
    signals: SignalsDep,
) -> EventAccepted:
    """Accept one event; it and its deliveries are committed before the 202."""
    received_at = utc_now()
    event = validate_one(parse_body(await _read_body(request, settings.max_event_bytes)))
    ids, deliveries = await service.ingest(
        session,
        signals,
        reseller_id=principal.reseller_id,
        organisation_id=principal.organisation_id,
        events=[event],
        received_at=received_at,
    )
    return EventAccepted(id=ids[0], deliveries=deliveries)


@router.post(
    "/events/batch",
    status_code=202,
    response_model=BatchAccepted,
    openapi_extra=_body_doc(_BATCH_SCHEMA),
)
async def ingest_batch(
    request: Request,
    principal: IngestAuth,
    session: SessionDep,
    settings: SettingsDep,
    signals: SignalsDep,
) -> BatchAccepted:
    """Accept up to 1,000 events in one transaction: all or none."""
    received_at = utc_now()
    body = parse_body(await _read_body(request, settings.max_event_bytes))
    events = validate_batch(body, settings.max_batch_events)
    ids, deliveries = await service.ingest(
        session,
        signals,
        reseller_id=principal.reseller_id,
        organisation_id=principal.organisation_id,
        events=events,
        received_at=received_at,
    )
    return BatchAccepted(ids=ids, deliveries=deliveries)


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
