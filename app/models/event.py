from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, created_at_column, id_column
from app.kit.ids import ID_LENGTH


class Event(Base):
    """One accepted event. `body` is the canonical envelope, built once and signed as is."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_reseller_id_id", "reseller_id", "id"),
        Index("ix_events_reseller_id_event_type_id", "reseller_id", "event_type", "id"),
        Index("ix_events_organisation_id_id", "organisation_id", "id"),
    )

    id: Mapped[str] = id_column("evt")
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("resellers.id", ondelete="CASCADE"), nullable=False
    )
    organisation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(256), nullable=False)
    team_id: Mapped[str] = mapped_column(String(256), nullable=False)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    received_at: Mapped[datetime] = created_at_column()
