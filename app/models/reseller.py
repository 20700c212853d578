from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, created_at_column, id_column


class Reseller(Base):
    """The tenant: owns organisations, webhooks, API keys, events and deliveries."""

    __tablename__ = "resellers"

    id: Mapped[str] = id_column("rsl")
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
