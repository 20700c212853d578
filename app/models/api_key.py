from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column, id_column
from app.kit.ids import ID_LENGTH


class ApiKey(Base):
    """A reseller API key (`hk_`) or an organisation ingest key (`ik_`), stored as a hash.

    The visible `prefix` finds the row; the hash is then compared in constant time. A key
    is live while `revoked_at` is unset and `expires_at` (set by a rotation's overlap) is
    unset or ahead; `last_used_at` is written in batches (`app.auth.usage`), not per request.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_organisation_id", "organisation_id"),)

    id: Mapped[str] = id_column("key")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "reseller" | "ingest"
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    reseller_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("resellers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    organisation_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)  # reseller keys
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
