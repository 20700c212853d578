from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column
from app.kit.ids import ID_LENGTH

MAX_KEY_LENGTH = 255


class IdempotencyKey(Base):
    """An ingest request's `Idempotency-Key`, per organisation, with the 202 it was answered.

    `request_hash` is the SHA-256 of the route and the raw body: a retry must send the same
    bytes to be replayed. A row past `expires_at` no longer counts and is pruned.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    organisation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    response: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
