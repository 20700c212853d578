from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from app.auth.deps import ResellerAuth
from app.auth.route import ApiRoute
from app.db.session import SessionDep, SessionmakerDep
from app.egress.client import HttpDep
from app.kit.pagination import Page
from app.kit.params import DEFAULT_PAGE, CursorParam, LimitParam
from app.kit.state import SettingsDep, SignalsDep
from app.kit.time import utc_now
from app.models import Webhook
from app.webhooks import service, simulate, stats
from app.webhooks.schemas import (
    RotatedSecretOut,
    RotateSecretIn,
    SecretOut,
    SimulateIn,
    SimulationPreview,
    SimulationResult,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    mask_secret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=ApiRoute)


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(
        {
            **_columns(webhook),
            "secret_masked": mask_secret(webhook.secret),
            "previous_secret_expires_at": _overlap_end(webhook),
            "organisation_ids": webhook.organisation_ids or [],
        }
    )


def _columns(webhook: Webhook) -> dict[str, object]:
    names = ("id", "name", "url", "events", "enabled", "disabled_reason", "disabled_at")
    limits = ("max_in_flight", "rate_per_second", "signature_scheme", "send_traceparent")
    return {name: getattr(webhook, name) for name in (*names, *limits, "created_at", "updated_at")}


def _overlap_end(webhook: Webhook) -> datetime | None:
    """When the previous secret stops signing; None once it has (or if there is none)."""
    until = webhook.previous_secret_expires_at
    return until if webhook.previous_secret and until is not None and until > utc_now() else None


@router.post("", status_code=201, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookIn,
    principal: ResellerAuth,
    session: SessionDep,
    settings: SettingsDep,
    signals: SignalsDep,
) -> WebhookCreated:
    """Create a webhook; the response carries its secret."""
    webhook = await service.create_webhook(session, settings, signals, principal.reseller_id, body)
    return WebhookCreated.model_validate(
        {**webhook_out(webhook).model_dump(), "secret": webhook.secret}
    )


@router.get("", response_model=Page[WebhookOut])
async def list_webhooks(
    principal: ResellerAuth,
    session: SessionDep,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> Page[WebhookOut]:
    """List webhook cards, newest first."""
    rows, next_cursor = await service.list_webhooks(
        session, principal.reseller_id, limit=limit, cursor=cursor
    )
    return Page[WebhookOut](data=[webhook_out(w) for w in rows], next_cursor=next_cursor)


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: str, principal: ResellerAuth, session: SessionDep) -> WebhookOut:
    """Read one webhook."""
    return webhook_out(await service.get_webhook(session, principal.reseller_id, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: str,
    body: WebhookPatch,
    principal: ResellerAuth,
    session: SessionDep,
    settings: SettingsDep,
    signals: SignalsDep,
) -> WebhookOut:
    """Update name, URL, events or enabled state (enabling clears an auto-disable)."""
    webhook = await service.update_webhook(
        session, settings, signals, principal.reseller_id, webhook_id, body
    )
    return webhook_out(webhook)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(
    webhook_id: str, principal: ResellerAuth, session: SessionDep, signals: SignalsDep
) -> Response:
    """Delete a webhook permanently; its pending deliveries are cancelled."""
    await service.delete_webhook(session, signals, principal.reseller_id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/secret", response_model=SecretOut)
async def reveal_secret(webhook_id: str, principal: ResellerAuth, session: SessionDep) -> SecretOut:
    """The full signing secret (the dashboard's copy button)."""
    webhook = await service.get_webhook(session, principal.reseller_id, webhook_id)
    return SecretOut(secret=webhook.secret)


@router.post("/{webhook_id}/secret/rotate", response_model=RotatedSecretOut)
async def rotate_secret(
    webhook_id: str,
    principal: ResellerAuth,
    session: SessionDep,
    settings: SettingsDep,
    body: RotateSecretIn | None = None,
) -> RotatedSecretOut:
    """Replace the signing secret; the new one is returned once here. Standard-webhooks
    deliveries are signed with both for `overlapSeconds` (hookline: immediate)."""
    overlap = body.overlap_seconds if body is not None else None
    webhook = await service.rotate_secret(
        session, settings, principal.reseller_id, webhook_id, overlap
    )
    return RotatedSecretOut(
        secret=webhook.secret,
        secret_masked=mask_secret(webhook.secret),
        previous_secret_expires_at=_overlap_end(webhook),
    )


@router.get("/{webhook_id}/stats", response_model=stats.StatsOut)
async def endpoint_stats(
    webhook_id: str,
    principal: ResellerAuth,
    session: SessionDep,
    settings: SettingsDep,
    window: Annotated[stats.StatsWindow, Query(description="1h, 24h or 7d")] = "24h",
    until: Annotated[
        AwareDatetime | None, Query(description="End of the window (default now)")
    ] = None,
) -> stats.StatsOut:
    """Endpoint health from the attempt log: counts by kind, latency, buckets, state."""
    webhook = await service.get_webhook(session, principal.reseller_id, webhook_id)
    stats.check_until(until)
    return await stats.endpoint_stats(session, settings, webhook, window, until or utc_now())


EventParam = Annotated[str, Query(max_length=100, description="Event type to simulate")]


@router.get("/{webhook_id}/simulate/preview", response_model=SimulationPreview)
async def preview_simulation(
    webhook_id: str, event: EventParam, principal: ResellerAuth, session: SessionDep
) -> SimulationPreview:
    """The payload a simulation of this event type would send now."""
    webhook = await service.get_webhook(session, principal.reseller_id, webhook_id)
    payload = await simulate.simulation_payload(session, webhook, event)
    return SimulationPreview(event=event, payload=payload)


@router.post("/{webhook_id}/simulate", response_model=SimulationResult)
async def send_simulation(
    webhook_id: str,
    body: SimulateIn,
    principal: ResellerAuth,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    http: HttpDep,
    slots: simulate.SimulationSlotsDep,
) -> Any:
    """Send one signed sample event to the webhook now and report what happened."""
    with slots.hold(principal.reseller_id):
        # A short session, closed before the POST: a receiver that never answers must not
        # keep a database connection from everyone else for the whole delivery timeout.
        async with sessions() as session:
            webhook = await service.get_webhook(session, principal.reseller_id, webhook_id)
            payload = await simulate.simulation_payload(session, webhook, body.event)
        return await simulate.send_simulation(settings, http, webhook, payload)
