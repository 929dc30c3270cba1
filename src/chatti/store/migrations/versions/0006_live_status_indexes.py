"""partial indexes of the messages still moving: accepted (in due order) and submitted

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 04:00:00

(status, next_attempt_at) indexed every message ever sent, so each status change moved
an entry in a tree as large as the table: a submit and a receipt each rewrote index
pages that held nothing else of theirs. Two partial indexes hold only the messages a
statement looks for, the accepted ones the claim takes in due order and the submitted
ones the expiry sweep checks; a delivered message leaves both. Statements must name the
status as a literal in their SQL for either engine to use them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ACCEPTED = "status = 'accepted'"
_SUBMITTED = "status = 'submitted'"


def upgrade() -> None:
    op.create_index(
        "ix_messages_due",
        "messages",
        ["next_attempt_at"],
        sqlite_where=sa.text(_ACCEPTED),
        postgresql_where=sa.text(_ACCEPTED),
    )
    op.create_index(
        "ix_messages_awaiting_receipt",
        "messages",
        ["submitted_at"],
        sqlite_where=sa.text(_SUBMITTED),
        postgresql_where=sa.text(_SUBMITTED),
    )
    op.drop_index("ix_messages_status_next_attempt_at", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_status_next_attempt_at", "messages", ["status", "next_attempt_at"])
    op.drop_index("ix_messages_awaiting_receipt", table_name="messages")
    op.drop_index("ix_messages_due", table_name="messages")
