"""carriers.binds: how many connections a sender process keeps to each carrier

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 01:00:00

Carriers commonly grant several binds to one account; each has its own window of
submits and of receipts in flight, so one bind caps what a carrier link can carry.
Existing carriers keep one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("carriers") as batch:
        batch.add_column(sa.Column("binds", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("carriers") as batch:
        batch.drop_column("binds")
