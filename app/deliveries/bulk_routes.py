"""Operating deliveries in bulk: recover (re-queue) and replay missing (create)."""

from fastapi import APIRouter

from app.auth.deps import ResellerAuth
from app.auth.route import ApiRoute
from app.db.session import SessionmakerDep
from app.db.tenancy import get_owned
from app.deliveries import recover, replay
from app.deliveries.schemas import RecoverIn, RecoveryOut, ReplayOut, Window
from app.kit.state import SettingsDep, SignalsDep
from app.kit.time import utc_now
from app.models import Recovery

router = APIRouter(tags=["deliveries"], route_class=ApiRoute)


@router.post("/webhooks/{webhook_id}/recover", status_code=202, response_model=RecoveryOut)
async def recover_deliveries(
    webhook_id: str,
    body: RecoverIn,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    signals: SignalsDep,
) -> RecoveryOut:
    """Queue the webhook's failed/cancelled deliveries of a window again (never one that is
    pending or in flight). `done` in this answer unless it is big: then poll the recovery."""
    async with sessions() as session:
        started = await recover.start(session, principal.reseller_id, webhook_id, body)
        await session.commit()
        recovery_id = started.id
    if not await recover.work_chunk(sessions, recovery_id, signals):
        recover.continue_in_background(sessions, recovery_id, signals)
    return await _read(sessions, principal.reseller_id, recovery_id, signals)


@router.get("/recoveries/{recovery_id}", response_model=RecoveryOut)
async def get_recovery(
    recovery_id: str, principal: ResellerAuth, sessions: SessionmakerDep, signals: SignalsDep
) -> RecoveryOut:
    """A recovery's progress: `queued` grows until `state` is `done`."""
    return await _read(sessions, principal.reseller_id, recovery_id, signals)


async def _read(
    sessions: SessionmakerDep, reseller_id: str, recovery_id: str, signals: SignalsDep
) -> RecoveryOut:
    async with sessions() as session:
        recovery = await get_owned(session, Recovery, reseller_id, recovery_id, what="Recovery")
        if recover.stalled(recovery, utc_now()):
            recover.continue_in_background(sessions, recovery.id, signals)
        return RecoveryOut.model_validate(recovery)


@router.post("/webhooks/{webhook_id}/replay", status_code=202, response_model=ReplayOut)
async def replay_missing(
    webhook_id: str,
    body: Window,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    signals: SignalsDep,
) -> ReplayOut:
    """Create the deliveries this webhook never had for the events accepted in the window
    (its types and organisations as they are now), within the event retention."""
    result = await replay.replay_missing(
        sessions, settings, signals, principal.reseller_id, webhook_id, body
    )
    return ReplayOut.model_validate(result)
