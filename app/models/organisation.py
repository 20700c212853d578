from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, created_at_column, id_column
from app.kit.ids import ID_LENGTH


class Organisation(Base):
    """A child organisation of one reseller; its desktops post events with an ingest key."""

    __tablename__ = "organisations"
    __table_args__ = (Index("ix_organisations_reseller_id_id", "reseller_id", "id"),)

    id: Mapped[str] = id_column("org")
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("resellers.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # Disabled: its ingest keys answer 403; its events and deliveries are kept.
    enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )
    created_at: Mapped[datetime] = created_at_column()
