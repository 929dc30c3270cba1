"""The webhook outbox: status events written with the change that caused them, then
claimed and delivered by the webhook sender, which records every attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from chatti.store.engine import Sql, Store, StoreConnection
from chatti.store.models import MessageStatus, to_datetime
from chatti.store.tables import accounts, messages, webhook_attempts, webhook_outbox


def _iso(microseconds: int) -> str:
    return to_datetime(microseconds).isoformat(timespec="microseconds").replace("+00:00", "Z")


# One outbox row per changed message whose callback URL (its own, else its account's
# default) is set: an INSERT ... SELECT run once per message in one executemany, so
# that nothing of the message travels through Python at the status change.
_ENQUEUE = Sql(
    "INSERT INTO webhook_outbox (account_id, message_id, url, status, detail, occurred_at,"
    " attempts, next_attempt_at, created_at)"
    " SELECT m.account_id, m.id, COALESCE(m.callback_url, a.callback_url),"
    " CAST(? AS VARCHAR(16)), CAST(? AS TEXT), CAST(? AS BIGINT), 0,"
    " CAST(? AS BIGINT), CAST(? AS BIGINT)"
    " FROM messages m JOIN accounts a ON a.id = m.account_id"
    " WHERE m.id = ? AND COALESCE(m.callback_url, a.callback_url) IS NOT NULL"
)


async def enqueue_status_events(
    connection: StoreConnection,
    message_ids: Sequence[str],
    status: MessageStatus,
    now: int,
    details: dict[str, str | None],
) -> None:
    """Queue a `message.status` webhook for each message that has a callback URL."""
    if message_ids:
        value = status.value
        await connection.run_many(
            _ENQUEUE,
            [
                (value, details.get(message_id), now, now, now, message_id)
                for message_id in message_ids
            ],
        )


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    id: int
    account_id: str
    url: str
    attempts: int
    created_at: int
    secret: str
    batch_max: int
    payload: dict[str, Any]


async def claim_webhooks(
    store: Store, node: str, limit: int, lease_seconds: float, now: int
) -> list[PendingWebhook]:
    due = (
        sa.select(webhook_outbox.c.id)
        .where(
            webhook_outbox.c.delivered_at.is_(None),
            webhook_outbox.c.gave_up_at.is_(None),
            webhook_outbox.c.next_attempt_at <= now,
            sa.or_(webhook_outbox.c.lease_until.is_(None), webhook_outbox.c.lease_until < now),
        )
        .order_by(webhook_outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    async with store.write() as connection:
        claimed = (
            await connection.execute(
                webhook_outbox.update()
                .where(webhook_outbox.c.id.in_(due.scalar_subquery()))
                .values(claimed_by=node, lease_until=now + int(lease_seconds * 1_000_000))
                .returning(webhook_outbox.c.id)
            )
        ).all()
        if not claimed:
            return []
        rows = (
            await connection.execute(
                sa.select(
                    webhook_outbox.c.id,
                    webhook_outbox.c.account_id,
                    webhook_outbox.c.url,
                    webhook_outbox.c.attempts,
                    webhook_outbox.c.created_at,
                    accounts.c.webhook_secret,
                    accounts.c.webhook_batch_max,
                    webhook_outbox.c.message_id,
                    webhook_outbox.c.status,
                    webhook_outbox.c.occurred_at,
                    messages.c.to_number,
                    messages.c.sender,
                    messages.c.reference,
                    messages.c.carrier,
                    messages.c.segment_count,
                    webhook_outbox.c.detail,
                )
                .join(accounts, accounts.c.id == webhook_outbox.c.account_id)
                .join(messages, messages.c.id == webhook_outbox.c.message_id)
                .where(webhook_outbox.c.id.in_([row.id for row in claimed]))
                .order_by(webhook_outbox.c.id)
            )
        ).all()
    return [
        PendingWebhook(
            row.id,
            row.account_id,
            row.url,
            row.attempts,
            row.created_at,
            row.webhook_secret,
            row.webhook_batch_max,
            {
                "event": "message.status",
                "message_id": row.message_id,
                "status": row.status,
                "at": _iso(row.occurred_at),
                "to": row.to_number,
                "from": row.sender,
                "reference": row.reference,
                "carrier": row.carrier,
                "segments": row.segment_count,
                "detail": row.detail,
            },
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    url: str
    outbox_ids: tuple[int, ...]
    attempted_at: int
    status_code: int | None
    error: str | None
    duration_ms: int
    delivered: bool
    next_attempt_at: int | None  # None with delivered False: given up


async def record_webhook_attempts(store: Store, attempts: Sequence[WebhookAttempt]) -> None:
    if not attempts:
        return
    async with store.write() as connection:
        await connection.execute(
            webhook_attempts.insert(),
            [
                {
                    "url": attempt.url,
                    "outbox_ids": list(attempt.outbox_ids),
                    "attempted_at": attempt.attempted_at,
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                    "duration_ms": attempt.duration_ms,
                }
                for attempt in attempts
            ],
        )
        for attempt in attempts:
            ids = list(attempt.outbox_ids)
            common: dict[str, Any] = {
                "claimed_by": None,
                "lease_until": None,
                "attempts": webhook_outbox.c.attempts + 1,
            }
            if attempt.delivered:
                values: dict[str, Any] = {
                    **common,
                    "delivered_at": attempt.attempted_at,
                    "last_error": None,
                }
            elif attempt.next_attempt_at is None:
                values = {**common, "gave_up_at": attempt.attempted_at, "last_error": attempt.error}
            else:
                values = {
                    **common,
                    "next_attempt_at": attempt.next_attempt_at,
                    "last_error": attempt.error,
                }
            await connection.execute(
                webhook_outbox.update().where(webhook_outbox.c.id.in_(ids)).values(**values)
            )


async def webhook_counts(store: Store) -> dict[str, int]:
    """Pending, delivered and given-up outbox rows (for health and tests)."""
    async with store.read() as connection:
        row = (
            await connection.execute(
                sa.select(
                    sa.func.count().filter(
                        webhook_outbox.c.delivered_at.is_(None),
                        webhook_outbox.c.gave_up_at.is_(None),
                    ),
                    sa.func.count().filter(webhook_outbox.c.delivered_at.is_not(None)),
                    sa.func.count().filter(webhook_outbox.c.gave_up_at.is_not(None)),
                ).select_from(webhook_outbox)
            )
        ).one()
    return {"pending": row[0], "delivered": row[1], "gave_up": row[2]}
