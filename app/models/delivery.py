from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column, id_column
from app.kit.ids import ID_LENGTH
from app.kit.time import utc_now

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (PENDING, SUCCEEDED, FAILED, CANCELLED)
TRACEPARENT_LENGTH = 55  # `00-<32 hex>-<16 hex>-<2 hex>`


class Delivery(Base):
    """One event bound for one webhook: the row is the job.

    A pending row is due when `next_attempt_at <= now`. Claiming a row pushes
    `next_attempt_at` forward by the lease and stamps `lease_token`, so a dead
    worker's claim simply becomes due again; the partial index keeps "due" cheap.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_deliveries_reseller_id_id", "reseller_id", "id"),
        Index("ix_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_deliveries_event_id", "event_id"),
        # Attempts in flight per endpoint (`maxInFlight` across processes): leased rows only.
        Index(
            "ix_deliveries_leased",
            "webhook_id",
            postgresql_where=text("lease_token IS NOT NULL"),
            sqlite_where=text("lease_token IS NOT NULL"),
        ),
    )

    id: Mapped[str] = id_column("dlv")
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("resellers.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    webhook_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempt_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utc_now, onupdate=utc_now
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The W3C trace context of the ingest request that created the row (`app.ops.tracing`),
    # so an attempt in any process, hours later, continues the event's trace. NULL while
    # tracing is off.
    traceparent: Mapped[str | None] = mapped_column(String(TRACEPARENT_LENGTH), nullable=True)
