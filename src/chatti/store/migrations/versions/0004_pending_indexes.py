"""indexes for the hot claims: pending webhook events in due order; no status-only index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 22:50:00

The webhook sender claimed pending events ORDER BY id: SQLite found them through
(delivered_at, next_attempt_at), then sorted every pending event to return the first
few hundred, once per claim (a backlog of 100,000 events made each claim a sort of
100,000 rows). Events are now claimed in due order through a partial index of the
pending ones only, which the claim walks and leaves after its LIMIT.

ix_messages_status duplicated the first column of (status, next_attempt_at) and cost
an index update at every status change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = "delivered_at IS NULL AND gave_up_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_webhook_outbox_pending",
        "webhook_outbox",
        ["next_attempt_at"],
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )
    op.drop_index("ix_webhook_outbox_due", table_name="webhook_outbox")
    op.drop_index("ix_messages_status", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_index("ix_webhook_outbox_due", "webhook_outbox", ["delivered_at", "next_attempt_at"])
    op.drop_index("ix_webhook_outbox_pending", table_name="webhook_outbox")
