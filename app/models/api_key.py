from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, created_at_column, id_column
from app.kit.ids import ID_LENGTH


class ApiKey(Base):
    """A reseller API key (`hk_`) or an organisation ingest key (`ik_`), stored as a hash.

    The visible `prefix` finds the row; the hash is then compared in constant time.
    """

    __tablename__ = "api_keys"

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
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
