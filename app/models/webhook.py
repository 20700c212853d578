from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column, id_column
from app.kit.ids import ID_LENGTH
from app.kit.time import utc_now


class Webhook(Base):
    """An endpoint of a reseller. Deletion is soft so the delivery log keeps its rows."""

    __tablename__ = "webhooks"
    __table_args__ = (
        Index("ix_webhooks_reseller_id_id", "reseller_id", "id"),
        Index(
            "ix_webhooks_limited",
            "id",
            postgresql_where=text("max_in_flight IS NOT NULL OR rate_per_second IS NOT NULL"),
            sqlite_where=text("max_in_flight IS NOT NULL OR rate_per_second IS NOT NULL"),
        ),
    )

    id: Mapped[str] = id_column("whk")
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("resellers.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    # Routing: only these organisations' events fan out here (None or []: all of them).
    organisation_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    secret: Mapped[str] = mapped_column(String(128), nullable=False)
    # How deliveries are signed (app.wire.signature); a rotation's previous secret signs
    # standard-webhooks deliveries beside the new one until it expires.
    signature_scheme: Mapped[str] = mapped_column(
        String(32), nullable=False, default="hookline", server_default="hookline"
    )
    previous_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Optional limits across every worker process (None: none). The token bucket of
    # `rate_per_second` lives here too: every claim of a limited endpoint locks this row.
    max_in_flight: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_tokens: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_refilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Opt-in: deliveries carry a W3C `traceparent` header (only while tracing is on).
    send_traceparent: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utc_now, onupdate=utc_now
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:  # never the secret
        return f"Webhook(id={self.id!r}, url={self.url!r})"
