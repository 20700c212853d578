"""per-webhook signature scheme and secret rotation overlap

Revision ID: 0005_signature_schemes
Revises: 0004_keys_organisations
Create Date: 2026-12-01 11:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0005_signature_schemes"
down_revision: str | None = "0004_keys_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing webhook keeps the seed's scheme, and its secret as it is.
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column(
                "signature_scheme", sa.String(length=32), nullable=False, server_default="hookline"
            )
        )
        batch.add_column(sa.Column("previous_secret", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column(
                "previous_secret_expires_at",
                app.db.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
        batch.drop_column("signature_scheme")
