"""The schema, in SQLAlchemy Core. Alembic revisions in migrations/ must produce exactly
this; a test compares a migrated empty database against it.

Times are integer microseconds since the Unix epoch (UTC): the same type, precision and
ordering on SQLite and PostgreSQL, and cheap to compare.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("callback_url", sa.String(2000)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # HMAC key of this account's webhook signatures (webhooks/signing.py)
    sa.Column("webhook_secret", sa.String(64), nullable=False, server_default=""),
    sa.Column("webhook_batch_max", sa.Integer, nullable=False, server_default="100"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False, index=True
    ),
    # SHA-256 of the whole key: keys are 32 random bytes, so a fast hash is as safe as a
    # slow one and lets every request be checked in microseconds.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown to people to tell keys apart
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger),
)


def _only_status(status: str) -> dict[str, Any]:
    """A partial index's WHERE clause, for both engines."""
    where = sa.text(f"status = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}


messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),  # a ULID: sorts by creation time
    sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("to_number", sa.String(20), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("sender", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("encoding", sa.String(8), nullable=False),
    sa.Column("segment_count", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("callback_url", sa.String(2000)),
    sa.Column("validity_period", sa.Integer),  # seconds
    sa.Column("reference", sa.String(128)),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Sending: who holds the message (a lease a crashed node loses), how often it was
    # tried, when it may be tried next, and the proof of submission.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("lease_until", sa.BigInteger),
    sa.Column("carrier", sa.String(64)),
    sa.Column("submitted_at", sa.BigInteger),
    sa.Column("done_at", sa.BigInteger),
    sa.Column("possible_duplicate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_messages_account_id_id", "account_id", "id"),
    # Only the messages still moving (migration 0006): the claim's, in due order, and
    # the expiry sweep's. A statement must write the status into its SQL to use them.
    sa.Index("ix_messages_due", "next_attempt_at", **_only_status("accepted")),
    sa.Index("ix_messages_awaiting_receipt", "submitted_at", **_only_status("submitted")),
)

# One row per part of a message once it is submitted: each part has its own carrier id
# and receipt.
message_segments = sa.Table(
    "message_segments",
    metadata,
    sa.Column("message_id", sa.String(26), sa.ForeignKey("messages.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("carrier", sa.String(64)),
    sa.Column("carrier_message_id", sa.String(65)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("submitted_at", sa.BigInteger),
    sa.Column("receipt_at", sa.BigInteger),
    sa.Column("error", sa.String(64)),
    sa.Index("ix_message_segments_carrier_message_id", "carrier", "carrier_message_id"),
)

# Receipts that arrived before their submit_sm_resp was recorded: applied when it is.
early_receipts = sa.Table(
    "early_receipts",
    metadata,
    sa.Column("carrier", sa.String(64), primary_key=True),
    sa.Column("carrier_message_id", sa.String(65), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.String(64)),
    sa.Column("received_at", sa.BigInteger, nullable=False),
)

message_events = sa.Table(
    "message_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column(
        "message_id", sa.String(26), sa.ForeignKey("messages.id"), nullable=False, index=True
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.Text),
)

carriers = sa.Table(
    "carriers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("system_id", sa.String(15), nullable=False),
    sa.Column("password", sa.String(8), nullable=False),
    sa.Column("system_type", sa.String(12), nullable=False, default=""),
    sa.Column("bind_type", sa.String(12), nullable=False, default="transceiver"),
    sa.Column("window", sa.Integer, nullable=False, default=10),
    sa.Column("max_tps", sa.Integer, nullable=False, default=0),
    sa.Column("binds", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

routes = sa.Table(
    "routes",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("match", sa.String(20), nullable=False),  # "*", a country ("DE") or a prefix
    sa.Column("carriers", sa.JSON, nullable=False),  # carrier names, in order of preference
)

webhook_outbox = sa.Table(
    "webhook_outbox",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("message_id", sa.String(26), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    # The event; its JSON is built when it is sent, from the message as it is then.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("delivered_at", sa.BigInteger),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("lease_until", sa.BigInteger),
    sa.Column("gave_up_at", sa.BigInteger),
    # the pending events, in due order: what the webhook sender claims (migration 0004)
    sa.Index(
        "ix_webhook_outbox_pending",
        "next_attempt_at",
        sqlite_where=sa.text("delivered_at IS NULL AND gave_up_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL AND gave_up_at IS NULL"),
    ),
)

# Every POST of the webhook sender, with what came back.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("outbox_ids", sa.JSON, nullable=False),
    sa.Column("attempted_at", sa.BigInteger, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
