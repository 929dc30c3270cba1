"""The webhook outbox: status events written with the change that caused them, then
claimed and delivered by the webhook sender, which records every attempt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from chatti.store.engine import Sql, Store, StoreConnection, placeholders
from chatti.store.models import MessageStatus, to_datetime
from chatti.store.tables import webhook_outbox

_SECOND_PREFIXES: dict[int, str] = {}


def iso_time(microseconds: int) -> str:
    """2026-11-28T12:00:00.123456Z. Events of a round share their second, so each
    second is formatted once."""
    seconds, fraction = divmod(microseconds, 1_000_000)
    prefix = _SECOND_PREFIXES.get(seconds)
    if prefix is None:
        if len(_SECOND_PREFIXES) > 1000:
            _SECOND_PREFIXES.clear()
        prefix = _SECOND_PREFIXES[seconds] = to_datetime(seconds * 1_000_000).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return f"{prefix}.{fraction:06d}Z"


WebhookTarget = tuple[str, str | None]  # a message's account, and its callback URL if any

# One outbox row per changed message whose callback URL (its own, else its account's
# default) is set. The sender knows it for what it submits and receives (the claim and
# the receipt lookup read it): a plain INSERT. Other changes look it up per message.
_ENQUEUE_KNOWN = Sql(
    "INSERT INTO webhook_outbox (account_id, message_id, url, status, detail, occurred_at,"
    " attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"
)
_ENQUEUE = Sql(
    "INSERT INTO webhook_outbox (account_id, message_id, url, status, detail, occurred_at,"
    " attempts, next_attempt_at, created_at)"
    " SELECT m.account_id, m.id, COALESCE(m.callback_url, a.callback_url),"
    " CAST(? AS VARCHAR(16)), CAST(? AS TEXT), CAST(? AS BIGINT), 0,"
    " CAST(? AS BIGINT), CAST(? AS BIGINT)"
    " FROM messages m JOIN accounts a ON a.id = m.account_id"
    " WHERE m.id = ? AND COALESCE(m.callback_url, a.callback_url) IS NOT NULL"
)


class StatusEventRows(NamedTuple):
    known: list[tuple[Any, ...]]  # rows of _ENQUEUE_KNOWN: the target was given
    looked_up: list[tuple[Any, ...]]  # rows of _ENQUEUE: the target is read per message


def status_event_rows(
    message_ids: Sequence[str],
    status: MessageStatus,
    now: int,
    details: dict[str, str | None],
    targets: dict[str, WebhookTarget] | None = None,
) -> StatusEventRows:
    """The rows that queue a `message.status` webhook for each message with a callback
    URL, built without the database (so that a caller can build them before it takes
    the write lock); write_status_events writes them."""
    value = status.value
    known = targets or {}
    direct = []
    looked_up = []
    for message_id in message_ids:
        target = known.get(message_id)
        if target is None:
            looked_up.append((value, details.get(message_id), now, now, now, message_id))
        elif target[1] is not None:
            account_id, url = target
            direct.append(
                (account_id, message_id, url, value, details.get(message_id), now, now, now)
            )
    return StatusEventRows(direct, looked_up)


async def write_status_events(connection: StoreConnection, rows: StatusEventRows) -> None:
    if rows.known:
        await connection.run_many(_ENQUEUE_KNOWN, rows.known)
    if rows.looked_up:
        await connection.run_many(_ENQUEUE, rows.looked_up)


class PendingWebhook(NamedTuple):  # one per event: cheaper to make than a dataclass
    id: int
    account_id: str
    url: str
    attempts: int
    created_at: int
    secret: str
    batch_max: int
    payload: dict[str, Any]


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


_CLAIM_SQL = """
UPDATE webhook_outbox SET claimed_by = ?, lease_until = ?
WHERE id IN (
    SELECT id FROM webhook_outbox
    WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?
        AND (lease_until IS NULL OR lease_until < ?)
    ORDER BY next_attempt_at LIMIT ? {lock})
RETURNING id
"""
_CLAIM = Sql.claiming(_CLAIM_SQL)
_CLAIMED_EVENTS = (
    "SELECT o.id, o.account_id, o.url, o.attempts, o.created_at, a.webhook_secret,"
    " a.webhook_batch_max, o.message_id, o.status, o.occurred_at, m.to_number, m.sender,"
    " m.reference, m.carrier, m.segment_count, o.detail"
    " FROM webhook_outbox o JOIN accounts a ON a.id = o.account_id"
    " JOIN messages m ON m.id = o.message_id"
    " WHERE o.id IN ({ids}) ORDER BY o.id"
)


async def claim_webhooks(
    store: Store,
    node: str,
    limit: int,
    lease_seconds: float,
    now: int,
    *,
    settle: Sequence[WebhookAttempt] = (),
) -> list[PendingWebhook]:
    """Claim up to `limit` due events. `settle`, the attempts of the previous round, are
    recorded in the same transaction: one commit a round rather than two, so the write
    lock is held less often (the sender process waits for it too). The events' contents
    are read after the commit, outside the write lock."""
    lease_until = now + int(lease_seconds * 1_000_000)
    async with store.write() as connection:
        await _record_attempts(connection, settle)
        claimed = [
            row[0] for row in await connection.fetch(_CLAIM, (node, lease_until, now, now, limit))
        ]
    if not claimed:
        return []
    rows = await store.fetch_rows(
        Sql(_CLAIMED_EVENTS.format(ids=placeholders(len(claimed)))), claimed
    )
    return [
        PendingWebhook(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _payload(*row[7:]))
        for row in rows
    ]


def _payload(
    message_id: str,
    status: str,
    occurred_at: int,
    to_number: str,
    sender: str,
    reference: str | None,
    carrier: str | None,
    segments: int,
    detail: str | None,
) -> dict[str, Any]:
    """The `message.status` event, from the columns _CLAIMED_EVENTS reads after the
    first seven."""
    return {
        "event": "message.status",
        "message_id": message_id,
        "status": status,
        "at": iso_time(occurred_at),
        "to": to_number,
        "from": sender,
        "reference": reference,
        "carrier": carrier,
        "segments": segments,
        "detail": detail,
    }


_INSERT_ATTEMPT = Sql(
    "INSERT INTO webhook_attempts (url, outbox_ids, attempted_at, status_code, error, duration_ms)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_DELIVERED = Sql(
    "UPDATE webhook_outbox SET claimed_by = NULL, lease_until = NULL, attempts = attempts + 1,"
    " delivered_at = ?, last_error = NULL WHERE id = ?"
)
_GAVE_UP = Sql(
    "UPDATE webhook_outbox SET claimed_by = NULL, lease_until = NULL, attempts = attempts + 1,"
    " gave_up_at = ?, last_error = ? WHERE id = ?"
)
_RETRY = Sql(
    "UPDATE webhook_outbox SET claimed_by = NULL, lease_until = NULL, attempts = attempts + 1,"
    " next_attempt_at = ?, last_error = ? WHERE id = ?"
)


async def record_webhook_attempts(store: Store, attempts: Sequence[WebhookAttempt]) -> None:
    """Record attempts on their own (the last round before a stop)."""
    if attempts:
        async with store.write() as connection:
            await _record_attempts(connection, attempts)


async def _record_attempts(connection: StoreConnection, attempts: Sequence[WebhookAttempt]) -> None:
    if not attempts:
        return
    delivered: list[tuple[Any, ...]] = []
    gave_up: list[tuple[Any, ...]] = []
    retry: list[tuple[Any, ...]] = []
    for attempt in attempts:
        if attempt.delivered:
            delivered += [(attempt.attempted_at, id) for id in attempt.outbox_ids]
        elif attempt.next_attempt_at is None:
            gave_up += [(attempt.attempted_at, attempt.error, id) for id in attempt.outbox_ids]
        else:
            retry += [(attempt.next_attempt_at, attempt.error, id) for id in attempt.outbox_ids]
    await connection.run_many(
        _INSERT_ATTEMPT,
        [
            (
                attempt.url,
                json.dumps(list(attempt.outbox_ids)),
                attempt.attempted_at,
                attempt.status_code,
                attempt.error,
                attempt.duration_ms,
            )
            for attempt in attempts
        ],
    )
    for sql, rows in ((_DELIVERED, delivered), (_GAVE_UP, gave_up), (_RETRY, retry)):
        if rows:
            await connection.run_many(sql, rows)


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
