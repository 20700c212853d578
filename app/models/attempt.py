from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, id_column
from app.kit.ids import ID_LENGTH
from app.kit.time import utc_now

RESPONSE_EXCERPT_BYTES = 4096


class DeliveryAttempt(Base):
    """One POST (or refusal to connect) for a delivery; pruned after the retention period."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_delivery_id_id", "delivery_id", "id"),
        Index("ix_delivery_attempts_attempted_at", "attempted_at"),
        # Endpoint health (`webhooks.stats`): one endpoint's attempts in a window are a
        # range of this index, however many millions of attempts the table holds, and it
        # covers what the stats read (kind, status, latency): an index-only scan, never
        # the heap (on PostgreSQL the planner took the time index otherwise, the heap
        # being in time order and this index's first column not).
        Index(
            "ix_delivery_attempts_webhook_id_attempted_at",
            "webhook_id",
            "attempted_at",
            "kind",
            "status_code",
            "latency_ms",
        ),
    )

    id: Mapped[str] = id_column("att")
    delivery_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False
    )
    # Denormalised from the delivery at insert, for the stats index. No foreign key (the
    # delivery's already cascades; webhooks are only soft-deleted): nothing to check per insert.
    webhook_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    attempt_number: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utc_now)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)  # egress AttemptKind
    # The headers as sent (ours only: the signature as computed, never the secret).
    request_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
