from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import ResellerAuth
from app.db.session import SessionDep
from app.deliveries import service
from app.deliveries.schemas import AttemptOut, DeliveryDetail, DeliveryOut
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.kit.state import SignalsDep
from app.models import Delivery
from app.models.delivery import PENDING

router = APIRouter(prefix="/deliveries", tags=["deliveries"])

StatusParam = Annotated[
    Literal["pending", "succeeded", "failed", "cancelled"] | None, Query(description="Filter")
]


def delivery_out(delivery: Delivery, organisations: Mapping[str, str]) -> DeliveryOut:
    """The API's view of a row; `organisations` maps event ids to organisation ids
    (`service.organisations_of`)."""
    fields = {c: getattr(delivery, c) for c in _FIELDS}
    if delivery.status != PENDING:  # a cancelled row may still hold its attempt's lease end
        fields["next_attempt_at"] = None
    organisation_id = organisations.get(delivery.event_id)
    return DeliveryOut.model_validate(
        {**fields, "event": delivery.event_type, "organisation_id": organisation_id}
    )


async def _out(session: AsyncSession, delivery: Delivery) -> DeliveryOut:
    return delivery_out(delivery, await service.organisations_of(session, [delivery]))


_FIELDS = (
    "id",
    "event_id",
    "webhook_id",
    "status",
    "attempt_count",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "created_at",
    "updated_at",
)


@router.get("", response_model=Page[DeliveryOut])
async def list_deliveries(
    principal: ResellerAuth,
    session: SessionDep,
    webhook_id: Annotated[str | None, Query(alias="webhookId", max_length=64)] = None,
    status: StatusParam = None,
    event_type: Annotated[str | None, Query(alias="eventType", max_length=100)] = None,
    organisation_id: Annotated[str | None, Query(alias="organisationId", max_length=64)] = None,
    event_id: Annotated[str | None, Query(alias="eventId", max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="Created at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Created before")] = None,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[DeliveryOut]:
    """The delivery log, newest first, filtered by webhook, status, event type,
    organisation, event id and time range (on the delivery's `createdAt`)."""
    rows, next_cursor = await service.list_deliveries(
        session,
        principal.reseller_id,
        service.LogFilter(
            webhook_id=webhook_id,
            status=status,
            event_type=event_type,
            organisation_id=organisation_id,
            event_id=event_id,
            since=since,
            until=until,
        ),
        limit=limit,
        cursor=cursor,
    )
    organisations = await service.organisations_of(session, rows)
    return Page[DeliveryOut](
        data=[delivery_out(d, organisations) for d in rows], next_cursor=next_cursor
    )


@router.get("/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    delivery_id: str, principal: ResellerAuth, session: SessionDep
) -> DeliveryDetail:
    """One delivery with every recorded attempt, oldest first."""
    delivery = await service.get_delivery(session, principal.reseller_id, delivery_id)
    attempts = await service.list_attempts(session, delivery.id)
    return DeliveryDetail.model_validate(
        {
            **(await _out(session, delivery)).model_dump(),
            "attempts": [AttemptOut.model_validate(a) for a in attempts],
        }
    )


@router.post("/{delivery_id}/retry", status_code=202, response_model=DeliveryOut)
async def retry_delivery(
    delivery_id: str, principal: ResellerAuth, session: SessionDep, signals: SignalsDep
) -> DeliveryOut:
    """Deliver again now, including a delivery that has `failed`."""
    delivery = await service.retry_delivery(session, signals, principal.reseller_id, delivery_id)
    return await _out(session, delivery)
