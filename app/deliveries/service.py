"""The delivery log: list, detail with attempts, and manual retry (which revives `failed`)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import after_commit
from app.db.tenancy import get_owned, owned_by
from app.errors import Conflict
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.models import Delivery, DeliveryAttempt, Webhook
from app.models.delivery import PENDING


async def list_deliveries(
    session: AsyncSession,
    reseller_id: str,
    *,
    webhook_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Delivery], str | None]:
    query = owned_by(Delivery, reseller_id)
    if webhook_id is not None:
        query = query.where(Delivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    query = paginate_newest_first(query, Delivery.id, limit=limit, cursor=cursor)
    return page_of(list((await session.execute(query)).scalars()), limit)


async def get_delivery(session: AsyncSession, reseller_id: str, delivery_id: str) -> Delivery:
    return await get_owned(session, Delivery, reseller_id, delivery_id, what="Delivery")


async def list_attempts(session: AsyncSession, delivery_id: str) -> list[DeliveryAttempt]:
    query = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.id)
    )
    return list((await session.execute(query)).scalars())


async def retry_delivery(
    session: AsyncSession, signals: Signals, reseller_id: str, delivery_id: str
) -> Delivery:
    """Make the delivery due now, whatever its state, unless its webhook is gone.

    The schedule is not restarted: a revived `failed` delivery gets exactly one more
    attempt (and is `failed` again if it fails); a pending one is simply brought forward.
    """
    delivery = await get_delivery(session, reseller_id, delivery_id)
    webhook = await session.get(Webhook, delivery.webhook_id)
    if webhook is None or webhook.deleted_at is not None:
        raise Conflict("The webhook of this delivery was deleted; it cannot be retried")
    if not webhook.enabled:
        raise Conflict("The webhook is disabled; re-enable it before retrying")
    now = utc_now()
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.lease_token = None
    delivery.completed_at = None
    delivery.updated_at = now
    await session.flush()
    after_commit(session, signals.deliveries_due)
    return delivery
