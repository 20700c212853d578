"""trace context on deliveries and the per-webhook traceparent opt-in

Revision ID: 0007_trace_context
Revises: 0006_routing_stats
Create Date: 2026-12-01 11:33:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_trace_context"
down_revision: str | None = "0006_routing_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows: no trace context (their attempts start traces of their own), and no
    # webhook sends `traceparent` until its owner opts in.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column(
                "send_traceparent", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("send_traceparent")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("traceparent")
