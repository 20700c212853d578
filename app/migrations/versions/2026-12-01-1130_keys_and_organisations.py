"""named API keys, last use, disabled organisations, ingest key expiry

Revision ID: 0004_keys_organisations
Revises: 0003_endpoint_limits
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0004_keys_organisations"
down_revision: str | None = "0003_endpoint_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("last_used_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("expires_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    # The keys made before names existed: each reseller's first key.
    op.execute("UPDATE api_keys SET name = 'Default' WHERE kind = 'reseller'")
    # Live ingest keys are counted and listed per organisation.
    op.create_index("ix_api_keys_organisation_id", "api_keys", ["organisation_id"])
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(
            sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("enabled")
    op.drop_index("ix_api_keys_organisation_id", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("last_used_at")
        batch.drop_column("name")
