"""Operating deliveries in bulk: recover (re-queue) and replay missing (create)."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.auth.deps import ResellerAuth
from app.auth.route import ApiRoute
from app.db.session import SessionDep, SessionmakerDep
from app.db.tenancy import get_owned
from app.deliveries import recover, replay
from app.deliveries.schemas import RecoverIn, RecoveryOut, ReplayOut, Window
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.kit.slots import TenantSlots
from app.kit.state import SettingsDep, SignalsDep
from app.kit.time import utc_now
from app.models import Recovery

router = APIRouter(tags=["deliveries"], route_class=ApiRoute)


def bulk_slots(limit: int) -> TenantSlots:
    """Recoveries and replays work chunk after chunk through the shared database pool; one
    reseller running many at once would take it from every other."""
    return TenantSlots(
        limit, what="recoveries or replays", setting="HOOKLINE_BULK_OPERATIONS_PER_TENANT"
    )


def _bulk_slots(request: Request) -> TenantSlots:
    slots: TenantSlots = request.app.state.bulk_slots
    return slots


BulkSlotsDep = Annotated[TenantSlots, Depends(_bulk_slots)]


@router.post("/webhooks/{webhook_id}/recover", status_code=202, response_model=RecoveryOut)
async def recover_deliveries(
    webhook_id: str,
    body: RecoverIn,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    signals: SignalsDep,
    slots: BulkSlotsDep,
) -> RecoveryOut:
    """Queue the webhook's failed/cancelled deliveries of a window again (never one that is
    pending or in flight). `done` in this answer unless it is big: then poll the recovery.
    A slot of the reseller's bulk operations is held until the last chunk (429 if none)."""
    slots.take(principal.reseller_id)
    release = partial(slots.give_back, principal.reseller_id)
    handed_over = False
    try:
        async with sessions() as session:
            started = await recover.start(session, principal.reseller_id, webhook_id, body)
            await session.commit()
            recovery_id = started.id
        if not await recover.work_chunk(sessions, recovery_id, signals):
            recover.continue_in_background(sessions, recovery_id, signals, release)
            handed_over = True
    finally:
        if not handed_over:
            release()
    return await _read(sessions, principal.reseller_id, recovery_id, signals, slots)


@router.get("/webhooks/{webhook_id}/recoveries", response_model=Page[RecoveryOut])
async def list_recoveries(
    webhook_id: str,
    principal: ResellerAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[RecoveryOut]:
    """The webhook's recoveries, newest first (a 404 for another reseller's webhook)."""
    rows, next_cursor = await recover.list_for_webhook(
        session, principal.reseller_id, webhook_id, limit=limit, cursor=cursor
    )
    return Page[RecoveryOut](
        data=[RecoveryOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/recoveries/{recovery_id}", response_model=RecoveryOut)
async def get_recovery(
    recovery_id: str,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    signals: SignalsDep,
    slots: BulkSlotsDep,
) -> RecoveryOut:
    """A recovery's progress: `queued` grows until `state` is `done`."""
    return await _read(sessions, principal.reseller_id, recovery_id, signals, slots)


async def _read(
    sessions: SessionmakerDep,
    reseller_id: str,
    recovery_id: str,
    signals: SignalsDep,
    slots: TenantSlots,
) -> RecoveryOut:
    """The recovery; a stalled one is resumed here when the reseller has a slot free (else
    by a later read)."""
    async with sessions() as session:
        recovery = await get_owned(session, Recovery, reseller_id, recovery_id, what="Recovery")
        if recover.stalled(recovery, utc_now()) and slots.try_take(reseller_id):
            release = partial(slots.give_back, reseller_id)
            recover.continue_in_background(sessions, recovery.id, signals, release)
        return RecoveryOut.model_validate(recovery)


@router.post("/webhooks/{webhook_id}/replay", status_code=202, response_model=ReplayOut)
async def replay_missing(
    webhook_id: str,
    body: Window,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    signals: SignalsDep,
    slots: BulkSlotsDep,
) -> ReplayOut:
    """Create the deliveries this webhook never had for the events accepted in the window
    (its types and organisations as they are now), within the event retention; it holds
    one of the reseller's bulk operation slots while it runs (429 if none is free)."""
    with slots.hold(principal.reseller_id):
        result = await replay.replay_missing(
            sessions, settings, signals, principal.reseller_id, webhook_id, body
        )
    return ReplayOut.model_validate(result)
