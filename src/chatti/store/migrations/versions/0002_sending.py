"""sending: leases, attempts, proof, early receipts, webhook attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:42:10.569782
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_receipts",
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("carrier_message_id", sa.String(length=65), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "carrier_message_id", name=op.f("pk_early_receipts")),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("outbox_ids", sa.JSON(), nullable=False),
        sa.Column("attempted_at", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_secret", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("webhook_batch_max", sa.Integer(), server_default="100", nullable=False)
        )

    # Accounts created before this revision get a signing secret of their own.
    connection = op.get_bind()
    accounts = sa.table(
        "accounts", sa.column("id", sa.String), sa.column("webhook_secret", sa.String)
    )
    for (account_id,) in connection.execute(sa.select(accounts.c.id)).all():
        connection.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(webhook_secret=secrets.token_hex(32))
        )

    with op.batch_alter_table("message_segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.String(length=64), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("carrier", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("gave_up_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_column("gave_up_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_next_attempt_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("possible_duplicate")
        batch_op.drop_column("done_at")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("carrier")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")

    with op.batch_alter_table("message_segments", schema=None) as batch_op:
        batch_op.drop_column("error")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("webhook_batch_max")
        batch_op.drop_column("webhook_secret")

    op.drop_table("webhook_attempts")
    op.drop_table("early_receipts")
