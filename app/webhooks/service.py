"""Webhook management. Every change of a reseller's webhooks re-announces its subscriptions."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.session import after_commit
from app.db.tenancy import get_owned, owned_by
from app.deliveries.service import cancel_pending
from app.egress.url_policy import UrlRejected, check_webhook_url
from app.errors import ValidationFailed
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.models import Organisation, Webhook
from app.webhooks.schemas import WebhookIn, WebhookPatch
from app.wire.signature import HOOKLINE, Signing, new_secret


def signing_of(webhook: Webhook) -> Signing:
    """How the webhook signs now (its scheme, secret and any rotation's previous secret)."""
    return Signing(
        webhook.signature_scheme,
        webhook.secret,
        webhook.previous_secret,
        webhook.previous_secret_expires_at,
    )


async def routed_organisations(
    session: AsyncSession, reseller_id: str, organisation_ids: list[str] | None
) -> list[str] | None:
    """The routing to store: None for every organisation, else ids all of this reseller's.

    An unknown id and another reseller's answer the same 422 (nothing tells them apart)."""
    if not organisation_ids:
        return None
    found = set(
        (
            await session.execute(
                select(Organisation.id).where(
                    Organisation.reseller_id == reseller_id,
                    Organisation.id.in_(organisation_ids),
                )
            )
        ).scalars()
    )
    unknown = [o for o in organisation_ids if o not in found]
    if unknown:
        message = f"Unknown organisation: {unknown[0]}"
        raise ValidationFailed(message, fields={"organisationIds": message})
    return organisation_ids


def validated_url(url: str, settings: Settings) -> str:
    try:
        return check_webhook_url(url, allow_private=settings.allow_private_targets)
    except UrlRejected as exc:
        raise ValidationFailed("Invalid webhook URL", fields={"url": exc.reason}) from None


def _announce(session: AsyncSession, signals: Signals, reseller_id: str) -> None:
    after_commit(session, lambda: signals.webhooks_changed(reseller_id))


async def create_webhook(
    session: AsyncSession, settings: Settings, signals: Signals, reseller_id: str, body: WebhookIn
) -> Webhook:
    webhook = Webhook(
        reseller_id=reseller_id,
        name=body.name,
        url=validated_url(body.url, settings),
        events=body.events,
        secret=new_secret(body.signature_scheme),
        signature_scheme=body.signature_scheme,
        enabled=True,
        max_in_flight=body.max_in_flight,
        rate_per_second=body.rate_per_second,
        organisation_ids=await routed_organisations(session, reseller_id, body.organisation_ids),
        send_traceparent=body.send_traceparent,
    )
    session.add(webhook)
    await session.flush()
    _announce(session, signals, reseller_id)
    return webhook


async def list_webhooks(
    session: AsyncSession, reseller_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Webhook], str | None]:
    query = paginate_newest_first(
        owned_by(Webhook, reseller_id), Webhook.id, limit=limit, cursor=cursor
    )
    return page_of(list((await session.execute(query)).scalars()), limit)


async def get_webhook(session: AsyncSession, reseller_id: str, webhook_id: str) -> Webhook:
    return await get_owned(session, Webhook, reseller_id, webhook_id, what="Webhook")


async def update_webhook(
    session: AsyncSession,
    settings: Settings,
    signals: Signals,
    reseller_id: str,
    webhook_id: str,
    patch: WebhookPatch,
) -> Webhook:
    webhook = await get_webhook(session, reseller_id, webhook_id)
    # Validate everything before touching the row: a bad field changes nothing.
    url = validated_url(patch.url, settings) if patch.url is not None else None
    if "organisation_ids" in patch.model_fields_set:
        webhook.organisation_ids = await routed_organisations(
            session, reseller_id, patch.organisation_ids
        )
    if patch.name is not None:
        webhook.name = patch.name
    if url is not None:
        webhook.url = url
    if patch.events is not None:
        webhook.events = patch.events
    if patch.signature_scheme is not None and patch.signature_scheme != webhook.signature_scheme:
        # The receiver has to change for the new headers anyway: a fresh secret in the new
        # scheme's format, at once, and no overlap with the old one.
        webhook.signature_scheme = patch.signature_scheme
        webhook.secret = new_secret(patch.signature_scheme)
        webhook.previous_secret = webhook.previous_secret_expires_at = None
    if patch.send_traceparent is not None:
        webhook.send_traceparent = patch.send_traceparent
    if "max_in_flight" in patch.model_fields_set:
        webhook.max_in_flight = patch.max_in_flight
    if "rate_per_second" in patch.model_fields_set:
        webhook.rate_per_second = patch.rate_per_second
        webhook.rate_tokens = webhook.rate_refilled_at = None  # a full bucket at the new rate
    if patch.enabled is not None:
        webhook.enabled = patch.enabled
        if patch.enabled:
            webhook.disabled_reason = None
            webhook.disabled_at = None
            webhook.failing_since = None
            webhook.consecutive_failures = 0
        elif webhook.disabled_at is None:
            webhook.disabled_reason = "Disabled by the user"
            webhook.disabled_at = utc_now()
            await cancel_pending(
                session, now=utc_now(), reason="Webhook disabled", webhook_id=webhook.id
            )
    webhook.updated_at = utc_now()
    await session.flush()
    _announce(session, signals, reseller_id)
    return webhook


async def delete_webhook(
    session: AsyncSession, signals: Signals, reseller_id: str, webhook_id: str
) -> None:
    """Permanent for the user; the row stays (soft delete) so the delivery log keeps it."""
    webhook = await get_webhook(session, reseller_id, webhook_id)
    now = utc_now()
    webhook.deleted_at = now
    webhook.enabled = False
    await cancel_pending(session, now=now, reason="Webhook deleted", webhook_id=webhook.id)
    await session.flush()
    _announce(session, signals, reseller_id)


async def rotate_secret(
    session: AsyncSession,
    settings: Settings,
    reseller_id: str,
    webhook_id: str,
    overlap_seconds: int | None = None,
) -> Webhook:
    """A new secret now. Standard-webhooks deliveries carry the replaced one's signature
    too for the overlap (default `secret_rotation_overlap_seconds`); an older previous
    secret is dropped. Hookline has one signature header: its rotation is immediate."""
    webhook = await get_webhook(session, reseller_id, webhook_id)
    if webhook.signature_scheme == HOOKLINE:
        if overlap_seconds:
            message = "A hookline webhook has a single signature: its rotation is immediate"
            raise ValidationFailed(message, fields={"overlapSeconds": message})
        overlap = 0
    elif overlap_seconds is None:
        overlap = settings.secret_rotation_overlap_seconds
    else:
        overlap = overlap_seconds
    now = utc_now()
    if overlap > 0:
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires_at = now + timedelta(seconds=overlap)
    else:
        webhook.previous_secret = webhook.previous_secret_expires_at = None
    webhook.secret = new_secret(webhook.signature_scheme)
    webhook.updated_at = now
    await session.flush()
    return webhook
