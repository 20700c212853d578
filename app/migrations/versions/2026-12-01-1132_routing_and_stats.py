"""organisation routing on webhooks, recoveries, the attempt-log index of endpoint stats

Revision ID: 0006_routing_stats
Revises: 0005_signature_schemes
Create Date: 2026-12-01 11:32:00

Attempts get `webhook_id` (denormalised from their delivery, for the stats index),
`kind` (egress AttemptKind) and `request_headers` (as sent). Existing attempts are
backfilled: the webhook from the delivery, the kind from the status code and the
error text's prefix (the recorder sets it exactly from now on); their headers stay null.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0006_routing_stats"
down_revision: str | None = "0005_signature_schemes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND_OF_OLD_ROWS = """
CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
     WHEN status_code IS NOT NULL THEN 'http_error'
     WHEN error LIKE 'blocked%' THEN 'refused'
     WHEN error LIKE 'timeout%' THEN 'timeout'
     ELSE 'network_error' END
"""


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("organisation_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("webhook_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("request_headers", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE delivery_attempts SET webhook_id = (SELECT d.webhook_id FROM deliveries d"
        f" WHERE d.id = delivery_attempts.delivery_id), kind = {KIND_OF_OLD_ROWS}"
    )
    op.create_index(
        "ix_delivery_attempts_webhook_id_attempted_at",
        "delivery_attempts",
        ["webhook_id", "attempted_at", "kind", "status_code", "latency_ms"],
    )
    op.create_table(
        "recoveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reseller_id", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=32), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reseller_id"],
            ["resellers.id"],
            name=op.f("fk_recoveries_reseller_id_resellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_recoveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
    )
    op.create_index("ix_recoveries_reseller_id_id", "recoveries", ["reseller_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_recoveries_reseller_id_id", table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index("ix_delivery_attempts_webhook_id_attempted_at", table_name="delivery_attempts")
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("request_headers")
        batch.drop_column("kind")
        batch.drop_column("webhook_id")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("organisation_ids")
