"""hourly attempt rollups for the stats of busy endpoints

Revision ID: 0008_attempt_rollups
Revises: 0007_trace_context
Create Date: 2026-12-01 13:00:00

`attempt_rollups` counts each endpoint's attempts per UTC hour, kind and latency bucket
(`app.dispatch.rollups`); the result writer keeps it from now on, and the existing
attempts are added up here in one INSERT … SELECT … GROUP BY.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base
from app.dispatch.rollups import backfill_statement

revision: str = "0008_attempt_rollups"
down_revision: str | None = "0007_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_rollups",
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("hour", app.db.base.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("latency_bucket", sa.SmallInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("latency_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "webhook_id",
            "hour",
            "kind",
            "latency_bucket",
            name=op.f("pk_attempt_rollups"),
            postgresql_include=["attempts", "latency_total"],
        ),
    )
    op.create_index(op.f("ix_attempt_rollups_hour"), "attempt_rollups", ["hour"], unique=False)
    op.execute(backfill_statement(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_index(op.f("ix_attempt_rollups_hour"), table_name="attempt_rollups")
    op.drop_table("attempt_rollups")
