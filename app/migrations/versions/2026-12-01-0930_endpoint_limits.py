"""per-webhook limits (maxInFlight, ratePerSecond with its token bucket) and the
index of leased deliveries that counts attempts in flight per endpoint

Revision ID: 0003_endpoint_limits
Revises: 0002_idempotency
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0003_endpoint_limits"
down_revision: str | None = "0002_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMITED = "max_in_flight IS NOT NULL OR rate_per_second IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("max_in_flight", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rate_per_second", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_tokens", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("rate_refilled_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_webhooks_limited",
        "webhooks",
        ["id"],
        postgresql_where=sa.text(LIMITED),
        sqlite_where=sa.text(LIMITED),
    )
    op.create_index(
        "ix_deliveries_leased",
        "deliveries",
        ["webhook_id"],
        postgresql_where=sa.text("lease_token IS NOT NULL"),
        sqlite_where=sa.text("lease_token IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_leased", table_name="deliveries")
    op.drop_index("ix_webhooks_limited", table_name="webhooks")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("rate_refilled_at")
        batch.drop_column("rate_tokens")
        batch.drop_column("rate_per_second")
        batch.drop_column("max_in_flight")
