"""The delivery log: list, detail with attempts, manual retry (which revives `failed`),
and the one way pending deliveries are cancelled.

An attempt in flight is never doubled or orphaned. A delivery whose attempt is under
way (leased, lease not run out) cannot be retried (409: it is being attempted now).
Cancelling marks it `cancelled` but leaves its lease, so the attempt's result still
lands: a 2xx makes it `succeeded` (the receiver has it), a failure leaves it
`cancelled` with no further attempt.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.rows import changed_rows
from app.db.session import after_commit
from app.db.tenancy import get_owned, owned_by
from app.deliveries.schemas import EARLIEST, LATEST, OUT_OF_RANGE
from app.errors import Conflict, ValidationFailed
from app.events.catalogue import CATALOGUE
from app.kit.ids import first_id_at
from app.kit.pagination import page_of, paginate_newest_first
from app.kit.signals import Signals
from app.kit.time import utc_now
from app.models import Delivery, DeliveryAttempt, Event, Webhook
from app.models.delivery import CANCELLED, PENDING


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFilter:
    """The delivery log's filters; None: not filtered on."""

    webhook_id: str | None = None
    status: str | None = None
    event_type: str | None = None
    organisation_id: str | None = None
    event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self, reseller_id: str) -> list[ColumnElement[bool]]:
        if self.event_type is not None and self.event_type not in CATALOGUE:
            raise ValidationFailed("Unknown event type", fields={"eventType": "Unknown event type"})
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and not EARLIEST <= moment < LATEST:
                raise ValidationFailed(f"{name}: {OUT_OF_RANGE}", fields={name: OUT_OF_RANGE})
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValidationFailed("until must be after since", fields={"until": "Before since"})
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (Delivery.webhook_id, self.webhook_id),
            (Delivery.status, self.status),
            (Delivery.event_type, self.event_type),
            (Delivery.event_id, self.event_id),
        ):
            if value is not None:
                found.append(column == value)
        if self.organisation_id is not None:
            of_organisation = select(Event.id).where(
                Event.reseller_id == reseller_id, Event.organisation_id == self.organisation_id
            )
            found.append(Delivery.event_id.in_(of_organisation))
        if self.since is not None:
            # ids are minted after `created_at`: the index range of the window's start
            found += [
                Delivery.created_at >= self.since,
                Delivery.id >= first_id_at("dlv", self.since),
            ]
        if self.until is not None:
            found.append(Delivery.created_at < self.until)
        return found


async def list_deliveries(
    session: AsyncSession,
    reseller_id: str,
    filters: LogFilter,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Delivery], str | None]:
    query = owned_by(Delivery, reseller_id).where(*filters.conditions(reseller_id))
    query = paginate_newest_first(query, Delivery.id, limit=limit, cursor=cursor)
    return page_of(list((await session.execute(query)).scalars()), limit)


async def organisations_of(session: AsyncSession, deliveries: list[Delivery]) -> dict[str, str]:
    """Event id -> its organisation's id, for the deliveries' events (one indexed query)."""
    event_ids = {d.event_id for d in deliveries}
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Event.id, Event.organisation_id).where(Event.id.in_(event_ids))
    )
    return dict(rows.tuples().all())


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
    # One guarded UPDATE, so a claim between our read and our write cannot slip
    # through: a row leased meanwhile is not touched (and answered 409).
    revived = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, not_leased(now))
        .values(
            status=PENDING, next_attempt_at=now, lease_token=None, completed_at=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(revived):
        raise Conflict(
            "An attempt of this delivery is in progress; its result decides what happens next"
        )
    await session.refresh(delivery)
    after_commit(session, signals.deliveries_due)
    return delivery


def _leased(now: datetime) -> ColumnElement[bool]:
    """Claimed by a worker whose lease has not run out: an attempt is (about to be) made."""
    return and_(Delivery.lease_token.is_not(None), Delivery.next_attempt_at > now)


def not_leased(now: datetime) -> ColumnElement[bool]:
    """No attempt under way: never claimed, or its lease ran out (a dead worker's)."""
    return or_(
        Delivery.lease_token.is_(None),
        Delivery.next_attempt_at.is_(None),
        Delivery.next_attempt_at <= now,
    )


async def cancel_pending(
    session: AsyncSession,
    *,
    now: datetime,
    reason: str,
    webhook_id: str | None = None,
    delivery_ids: Sequence[str] | None = None,
    keep_leases: bool = True,
) -> None:
    """Cancel the pending deliveries of a webhook, or the given ones.

    A leased row keeps its lease (and its lease's end in `next_attempt_at`), so an
    attempt in flight still records its result and cannot be retried meanwhile; a
    claimer cancelling rows it will not attempt passes `keep_leases=False`."""
    if (webhook_id is None) == (delivery_ids is None):
        raise ValueError("pass webhook_id or delivery_ids")
    query = update(Delivery).where(Delivery.status == PENDING)
    if webhook_id is not None:
        query = query.where(Delivery.webhook_id == webhook_id)
    else:
        query = query.where(Delivery.id.in_(delivery_ids or ()))
    leased = _leased(now) if keep_leases else false()
    await session.execute(
        query.values(
            status=CANCELLED,
            next_attempt_at=case((leased, Delivery.next_attempt_at), else_=None),
            lease_token=case((leased, Delivery.lease_token), else_=None),
            last_error=reason,
            completed_at=now,
            updated_at=now,
        ).execution_options(synchronize_session=False)
    )
