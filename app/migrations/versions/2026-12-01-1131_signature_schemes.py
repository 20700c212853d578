"""per-webhook signature scheme and secret rotation overlap

Revision ID: 0005_signature_schemes
Revises: 0004_keys_organisations
Create Date: 2026-12-01 11:31:00
"""

from collections.abc import Sequence

revision: str = "0005_signature_schemes"
down_revision: str | None = "0004_keys_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
