"""named API keys, last use, disabled organisations, ingest key expiry

Revision ID: 0004_keys_organisations
Revises: 0003_endpoint_limits
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

revision: str = "0004_keys_organisations"
down_revision: str | None = "0003_endpoint_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
