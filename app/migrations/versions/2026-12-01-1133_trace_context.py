"""trace context on deliveries and the per-webhook traceparent opt-in

Revision ID: 0007_trace_context
Revises: 0006_routing_stats
Create Date: 2026-12-01 11:33:00
"""

from collections.abc import Sequence

revision: str = "0007_trace_context"
down_revision: str | None = "0006_routing_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
