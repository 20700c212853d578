"""Webhook management. Every change of a reseller's webhooks re-announces its subscriptions."""

import secrets

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
from app.models import Webhook
from app.webhooks.schemas import WebhookIn, WebhookPatch


def new_secret() -> str:
    """256 random bits, URL-safe: 43 characters."""
    return secrets.token_urlsafe(32)


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
        secret=new_secret(),
        enabled=True,
        max_in_flight=body.max_in_flight,
        rate_per_second=body.rate_per_second,
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
    if patch.name is not None:
        webhook.name = patch.name
    if url is not None:
        webhook.url = url
    if patch.events is not None:
        webhook.events = patch.events
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


async def rotate_secret(session: AsyncSession, reseller_id: str, webhook_id: str) -> Webhook:
    webhook = await get_webhook(session, reseller_id, webhook_id)
    webhook.secret = new_secret()
    webhook.updated_at = utc_now()
    await session.flush()
    return webhook
