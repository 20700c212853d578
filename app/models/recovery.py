from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column, id_column
from app.kit.ids import ID_LENGTH
from app.kit.time import utc_now

RUNNING = "running"
DONE = "done"
STOPPED = "stopped"  # its webhook was disabled or deleted meanwhile: nothing more is queued


class Recovery(Base):
    """One bulk re-queue of a webhook's failed or cancelled deliveries (`deliveries.recover`).

    The row is the progress report and the resumption point: `cursor` is the last
    delivery id handled, so the chunks it is done in never revisit a row.
    """

    __tablename__ = "recoveries"
    __table_args__ = (Index("ix_recoveries_reseller_id_id", "reseller_id", "id"),)

    id: Mapped[str] = id_column("rcv")
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("resellers.id", ondelete="CASCADE"), nullable=False
    )
    webhook_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=RUNNING)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    statuses: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    event_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    matched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    queued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cursor: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utc_now, onupdate=utc_now
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
