"""The webhook outbox: status events written with the change that caused them, then
claimed and delivered by the webhook sender, which records every attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from chatti.store.engine import Store, StoreConnection
from chatti.store.models import MessageStatus, to_datetime
from chatti.store.tables import accounts, messages, webhook_attempts, webhook_outbox


def _iso(microseconds: int) -> str:
    return to_datetime(microseconds).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def enqueue_status_events(
    connection: StoreConnection,
    message_ids: Sequence[str],
    status: MessageStatus,
    now: int,
    details: dict[str, str | None],
) -> int:
    """One outbox row per changed message whose callback URL (its own, else its
    account's default) is set. Returns how many were queued."""
    rows = (
        await connection.execute(
            sa.select(
                messages.c.id,
                messages.c.account_id,
                messages.c.to_number,
                messages.c.sender,
                messages.c.reference,
                messages.c.carrier,
                messages.c.segment_count,
                sa.func.coalesce(messages.c.callback_url, accounts.c.callback_url).label("url"),
            )
            .join(accounts, accounts.c.id == messages.c.account_id)
            .where(messages.c.id.in_(list(message_ids)))
        )
    ).all()
    events = [
        {
            "account_id": row.account_id,
            "message_id": row.id,
            "url": row.url,
            "payload": {
                "event": "message.status",
                "message_id": row.id,
                "status": status.value,
                "at": _iso(now),
                "to": row.to_number,
                "from": row.sender,
                "reference": row.reference,
                "carrier": row.carrier,
                "segments": row.segment_count,
                "detail": details.get(row.id),
            },
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in rows
        if row.url
    ]
    if events:
        await connection.execute(webhook_outbox.insert(), events)
    return len(events)


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    id: int
    account_id: str
    url: str
    payload: dict[str, Any]
    attempts: int
    created_at: int
    secret: str
    batch_max: int


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
                sa.select(webhook_outbox, accounts.c.webhook_secret, accounts.c.webhook_batch_max)
                .join(accounts, accounts.c.id == webhook_outbox.c.account_id)
                .where(webhook_outbox.c.id.in_([row.id for row in claimed]))
                .order_by(webhook_outbox.c.id)
            )
        ).all()
    return [
        PendingWebhook(
            row.id,
            row.account_id,
            row.url,
            row.payload,
            row.attempts,
            row.created_at,
            row.webhook_secret,
            row.webhook_batch_max,
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
