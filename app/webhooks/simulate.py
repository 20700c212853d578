"""Simulations: one signed sample event sent to a webhook now, outside the delivery log.

The sample is the catalogue's (SPEC Appendix A) with `"simulation": true`; only types
the webhook subscribes to can be simulated, and the network guard applies as for real
deliveries. `eventId` and `timestamp` are fresh for each send; the preview shows the
same envelope with the values a send at that moment would carry.
"""

import time
from typing import Annotated, Any

import aiohttp
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.egress.client import USER_AGENT
from app.egress.sender import post_signed
from app.egress.timing import Timing, timed_session
from app.errors import ValidationFailed
from app.events.catalogue import CATALOGUE
from app.kit.ids import new_id
from app.kit.slots import TenantSlots
from app.kit.time import epoch_ms, utc_now
from app.models import Organisation, Reseller, Webhook
from app.webhooks.self_check import send_mis_signed
from app.webhooks.service import signing_of
from app.wire.canonical_json import dumps
from app.wire.envelope import Party, envelope
from app.wire.signature import SIGNATURE_HEADERS, signed_headers

SIMULATION_RESPONSE_LIMIT = 64 * 1024
SIMULATION_ORGANISATION = Party("org_simulation", "Simulation")


def simulation_slots(limit: int) -> TenantSlots:
    """A simulation may wait the whole delivery timeout on a receiver that never answers;
    without a cap one reseller could tie up the outbound pool for everyone."""
    return TenantSlots(limit, what="simulations", setting="HOOKLINE_SIMULATION_CONCURRENCY")


def _slots(request: Request) -> TenantSlots:
    slots: TenantSlots = request.app.state.simulation_slots
    return slots


SimulationSlotsDep = Annotated[TenantSlots, Depends(_slots)]


def _check_type(webhook: Webhook, event_type: str) -> None:
    if event_type not in CATALOGUE:
        raise ValidationFailed("Unknown event type", fields={"event": "Unknown event type"})
    if event_type not in webhook.events:
        message = "This webhook does not subscribe to that event type"
        raise ValidationFailed(message, fields={"event": message})


async def simulation_payload(
    session: AsyncSession, webhook: Webhook, event_type: str
) -> dict[str, Any]:
    _check_type(webhook, event_type)
    reseller = await session.get(Reseller, webhook.reseller_id)
    assert reseller is not None
    first_org = (
        await session.execute(
            select(Organisation)
            .where(Organisation.reseller_id == webhook.reseller_id)
            .order_by(Organisation.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    organisation = Party(first_org.id, first_org.name) if first_org else SIMULATION_ORGANISATION
    sample = CATALOGUE[event_type].sample
    return envelope(
        event_type=event_type,
        event_id=new_id("evt"),
        timestamp_ms=epoch_ms(),
        parent=Party(reseller.id, reseller.name),
        organisation=organisation,
        user_id="user_1001",
        team_id="team_42",
        data=sample,
        simulation=True,
    )


async def send_simulation(
    settings: Settings,
    http: aiohttp.ClientSession,
    webhook: Webhook,
    payload: dict[str, Any],
) -> dict[str, Any]:
    body = dumps(payload)
    signing = signing_of(webhook)
    headers = signed_headers(
        signing,
        body=body,
        delivery_id=new_id("sim"),
        event_type=payload["event"],
        at=utc_now(),
        user_agent=USER_AGENT,
    )
    timing = Timing()  # on a fresh connection of its own (`egress.timing`)
    async with timed_session(settings, timing) as timed:
        timing.started = time.perf_counter()
        result = await post_signed(
            timed,
            url=webhook.url,
            body=body,
            headers=headers,
            timeout_seconds=settings.delivery_timeout_seconds,
            allow_private=settings.allow_private_targets,
            max_response_bytes=SIMULATION_RESPONSE_LIMIT,
        )
        timing.finished = time.perf_counter()
    self_check = await send_mis_signed(
        settings,
        http,
        url=webhook.url,
        scheme=signing.scheme,
        body=body,
        event_type=payload["event"],
        signed=result,
    )
    return {
        "delivered": result.delivered,
        "status": result.status,
        "latencyMs": result.latency_ms if result.status is not None else None,
        "headers": {name: headers[name] for name in SIGNATURE_HEADERS[signing.scheme]},
        "payload": payload,
        "responseBody": result.response_body,
        "error": result.error,
        "timing": timing.phases(),
        "selfCheck": self_check,
    }
