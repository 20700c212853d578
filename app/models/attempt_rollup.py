from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime
from app.kit.ids import ID_LENGTH


class AttemptRollup(Base):
    """An endpoint's attempts of one UTC hour, kind and latency bucket (`dispatch.rollups`):
    written with the attempt rows, read by the stats of a busy endpoint's day or week."""

    __tablename__ = "attempt_rollups"
    __table_args__ = (
        # The counts ride in the key's index (PostgreSQL): a busy endpoint's week is an
        # index-only range, not thousands of heap pages.
        PrimaryKeyConstraint(
            "webhook_id",
            "hour",
            "kind",
            "latency_bucket",
            postgresql_include=["attempts", "latency_total"],
        ),
        # Pruning (`dispatch.housekeeping`) deletes by hour across every endpoint.
        Index("ix_attempt_rollups_hour", "hour"),
    )

    webhook_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    latency_bucket: Mapped[int] = mapped_column(SmallInteger)  # -1: no answer
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    latency_total: Mapped[int] = mapped_column(BigInteger, nullable=False)  # sum of latency_ms
