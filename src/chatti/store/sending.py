"""The queries of sending: claiming messages, recording submits, receipts, retries,
failures and expiry. Every status change writes its history row and, when someone
listens, its webhook in the same transaction (outbox.status_event_rows).

Claims are leases: a message claimed by a node that dies is claimed again by another
once `lease_until` has passed. A message claimed while a previous lease had expired may
already have been submitted by the dead node: it is flagged `possible_duplicate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from chatti.store import outbox
from chatti.store.engine import Sql, Store, StoreConnection, placeholders
from chatti.store.models import MessageStatus
from chatti.store.queries import now_us
from chatti.store.tables import early_receipts, message_segments, messages

if TYPE_CHECKING:
    from chatti.store.group_commit import GroupStatements

FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.FAILED,
    }
)
RECEIPT_STATUSES = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.EXPIRED)
_STATUSES = {status.value: status for status in MessageStatus}  # cheaper than MessageStatus(v)
# Statuses written into the SQL rather than bound: the partial indexes of the accepted
# and the submitted messages (migration 0006) serve only statements that name theirs.
_IS_ACCEPTED = messages.c.status == sa.literal_column(f"'{MessageStatus.ACCEPTED.value}'")
_IS_SUBMITTED = messages.c.status == sa.literal_column(f"'{MessageStatus.SUBMITTED.value}'")


class SubmittedSegment(NamedTuple):
    number: int  # 1-based
    carrier_message_id: str
    at: int = 0  # when the carrier's answer came (microseconds); 0: when recorded


class Submission(NamedTuple):
    """What happened to one claimed message on one try."""

    message_id: str
    carrier: str | None
    segments: tuple[SubmittedSegment, ...]  # the parts the carrier accepted this time
    complete: bool  # every part is now submitted
    retry_at: int | None = None  # not complete: when to try the rest
    failed: str | None = None  # a permanent refusal: the message fails
    error: str | None = None
    unknown_outcome: bool = False  # a part left without an answer: may be at the carrier
    # Where the message's webhooks go (read with its claim), so that recording the
    # status change needs no lookup; None: not known, the outbox looks it up.
    webhook: outbox.WebhookTarget | None = None


class ReceiptUpdate(NamedTuple):
    carrier: str
    carrier_message_ids: tuple[str, ...]  # the id as received, then its other forms
    status: MessageStatus  # delivered, undelivered or expired
    error: str | None
    received_at: int


class Claimed(NamedTuple):
    """A message claimed for sending: what its submit_sm PDUs are made of."""

    id: str
    to_number: str
    country: str
    sender: str
    body: str
    encoding: str
    segment_count: int
    validity_period: int | None
    attempts: int
    possible_duplicate: bool
    webhook: outbox.WebhookTarget  # its account, and its own callback URL else the account's


_CLAIM_SQL = f"""
UPDATE messages SET claimed_by = ?, lease_until = ?, attempts = attempts + 1,
    possible_duplicate = (possible_duplicate OR lease_until IS NOT NULL)
WHERE id IN (
    SELECT id FROM messages
    WHERE status = '{MessageStatus.ACCEPTED.value}' AND next_attempt_at <= ?
        AND (lease_until IS NULL OR lease_until < ?)
    ORDER BY next_attempt_at LIMIT ? {{lock}})
RETURNING id, to_number, country, sender, body, encoding, segment_count, validity_period,
    attempts, possible_duplicate, account_id,
    COALESCE(callback_url, (SELECT a.callback_url FROM accounts a WHERE a.id = messages.account_id))
"""
_CLAIM = Sql.claiming(_CLAIM_SQL)


async def claim_messages(
    store: Store, node: str, limit: int, lease_seconds: float, now: int
) -> list[Claimed]:
    """Up to `limit` accepted messages due now, leased to `node` (one statement)."""
    lease_until = now + int(lease_seconds * 1_000_000)
    async with store.write() as connection:
        rows = await connection.fetch(_CLAIM, (node, lease_until, now, now, limit))
    claimed = [
        Claimed(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), (r[10], r[11]))
        for r in rows
    ]
    claimed.sort(key=lambda message: message.id)
    return claimed


async def submitted_parts(store: Store, message_ids: Sequence[str]) -> dict[str, set[int]]:
    """Parts already accepted by a carrier on an earlier try, so they are not sent twice."""
    if not message_ids:
        return {}
    async with store.read() as connection:
        rows = await connection.execute(
            sa.select(message_segments.c.message_id, message_segments.c.number).where(
                message_segments.c.message_id.in_(list(message_ids))
            )
        )
        found: dict[str, set[int]] = {}
        for row in rows:
            found.setdefault(row.message_id, set()).add(row.number)
    return found


_INSERT_SEGMENT = Sql(
    "INSERT INTO message_segments"
    " (message_id, number, carrier, carrier_message_id, status, submitted_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_RETRY_LATER = Sql(
    "UPDATE messages SET claimed_by = NULL, lease_until = NULL, next_attempt_at = ?,"
    " last_error = ?, possible_duplicate = (possible_duplicate OR ?), updated_at = ?"
    " WHERE id = ?"
)
_ANY_EARLY_RECEIPT = Sql("SELECT 1 FROM early_receipts LIMIT 1")


class _SubmitPlan(NamedTuple):
    """A batch of tries as the rows of its statements, built before the transaction."""

    now: int
    segment_rows: list[tuple[Any, ...]]
    submitted: _StatusChange | None
    later_rows: list[tuple[Any, ...]]
    failed: list[_StatusChange]


def _plan_submissions(results: Sequence[Submission], now: int) -> _SubmitPlan:
    submitted = MessageStatus.SUBMITTED.value
    segment_rows = [
        (
            result.message_id,
            segment.number,
            result.carrier,
            segment.carrier_message_id,
            submitted,
            segment.at or now,
        )
        for result in results
        for segment in result.segments
    ]
    complete = [r for r in results if r.complete]
    change = None
    if complete:
        change = _status_change(
            [r.message_id for r in complete],
            MessageStatus.SUBMITTED,
            now,
            details={r.message_id: _proof(r) for r in complete},
            extra={"submitted_at": now},
            carriers={r.message_id: r.carrier for r in complete},
            targets=_targets(complete),
        )
    later = [
        (r.retry_at or now, r.error, r.unknown_outcome, now, r.message_id)
        for r in results
        if not (r.complete or r.failed)
    ]
    failed = [
        _status_change(
            [result.message_id],
            MessageStatus.FAILED,
            now,
            details={result.message_id: result.failed},
            extra={"done_at": now},
            carriers={result.message_id: result.carrier},
            targets=_targets([result]),
        )
        for result in results
        if result.failed
    ]
    return _SubmitPlan(now, segment_rows, change, later, failed)


async def _write_submissions(connection: StoreConnection, plan: _SubmitPlan) -> None:
    if plan.segment_rows:
        await connection.run_many(_INSERT_SEGMENT, plan.segment_rows)
    if plan.submitted is not None:
        await _write_status_change(connection, plan.submitted)
    if plan.later_rows:
        await connection.run_many(_RETRY_LATER, plan.later_rows)
    for change in plan.failed:
        await _write_status_change(connection, change)
    # Receipts that came before their submit was recorded: rare, so first a cheap look.
    if plan.segment_rows and await connection.fetch(_ANY_EARLY_RECEIPT):
        pairs = {(str(row[2]), str(row[3])) for row in plan.segment_rows}
        await _apply_early_receipts(connection, pairs, plan.now)


async def record_submissions(
    connection: StoreConnection, results: Sequence[Submission], now: int
) -> None:
    """Record one batch of tries in the caller's transaction."""
    await _write_submissions(connection, _plan_submissions(results, now))


def _targets(results: Sequence[Submission]) -> dict[str, outbox.WebhookTarget]:
    return {r.message_id: r.webhook for r in results if r.webhook is not None}


Outcome = Submission | ReceiptUpdate  # what the carrier side records


def stage_outcomes(outcomes: Sequence[Outcome]) -> GroupStatements[None]:
    """Record submits and receipts in one transaction (the sender process's group
    commit: one fsync and one turn at the write lock for both). The submits' rows are
    built here, before the transaction, since SQLite's write lock is the node's busiest
    resource; what runs inside is returned. Submits go first, so a receipt that came
    right behind its submit_sm_resp finds its part."""
    now = now_us()
    submissions = [item for item in outcomes if isinstance(item, Submission)]
    receipts = [item for item in outcomes if isinstance(item, ReceiptUpdate)]
    plan = _plan_submissions(submissions, now) if submissions else None

    async def statements(connection: StoreConnection) -> list[BaseException | None]:
        if plan is not None:
            await _write_submissions(connection, plan)
        if receipts:
            await record_receipts(connection, receipts, now)
        return [None] * len(outcomes)

    return statements


def _proof(result: Submission) -> str:
    """The history line of a submit: the carrier and the ids it gave this time (parts
    accepted on an earlier try are in message_segments too)."""
    ids = ",".join(segment.carrier_message_id for segment in result.segments)
    return f"carrier={result.carrier} ids={ids}"


async def recover_claims(store: Store, node: str) -> int:
    """At start: claims this node id still holds belong to its previous life, which
    died without handing them back. They are freed at once (rather than when their
    lease ends) and flagged, since they may have been submitted."""
    async with store.write() as connection:
        result = await connection.execute(
            messages.update()
            .where(messages.c.claimed_by == node, _IS_ACCEPTED)
            .values(claimed_by=None, lease_until=None, possible_duplicate=True)
        )
    return int(result.rowcount or 0)


_COUNT_DUE = Sql(
    "SELECT count(*) FROM (SELECT 1 FROM messages"
    f" WHERE status = '{MessageStatus.ACCEPTED.value}' AND next_attempt_at <= ? LIMIT ?) due"
)


async def count_due(store: Store, now: int, limit: int) -> int:
    """Accepted messages due by `now`, claimed or not, counted up to `limit`: a bounded
    walk of the partial index of accepted messages, cheap enough to run every poll."""
    async with store.read() as connection:
        rows = await connection.fetch(_COUNT_DUE, (now, limit))
    return int(rows[0][0])


async def release_claims(store: Store, node: str) -> int:
    """Hand back this node's claims (at a clean stop, after in-flight submits ended)."""
    async with store.write() as connection:
        result = await connection.execute(
            messages.update()
            .where(messages.c.claimed_by == node, _IS_ACCEPTED)
            .values(claimed_by=None, lease_until=None)
        )
    return int(result.rowcount or 0)


_FIND_PARTS = (
    "SELECT s.message_id, s.number, s.carrier, s.carrier_message_id, m.segment_count, m.status,"
    " m.account_id, COALESCE(m.callback_url, a.callback_url)"
    " FROM message_segments s JOIN messages m ON m.id = s.message_id"
    " JOIN accounts a ON a.id = m.account_id WHERE "
)


def receipt_lookup(wanted: dict[str, set[str]]) -> tuple[Sql, tuple[str, ...]]:
    """The parts named by (carrier, ids): one statement whatever their number."""
    where = " OR ".join(
        f"(s.carrier = ? AND s.carrier_message_id IN ({placeholders(len(ids))}))"
        for ids in wanted.values()
    )
    parameters: list[str] = []
    for carrier, ids in wanted.items():
        parameters += [carrier, *sorted(ids)]
    return Sql(_FIND_PARTS + where), tuple(parameters)


_RECORD_RECEIPT = Sql(
    "UPDATE message_segments SET status = ?, receipt_at = ?, error = ?"
    " WHERE message_id = ? AND number = ?"
)


async def record_receipts(
    connection: StoreConnection, receipts: Sequence[ReceiptUpdate], now: int
) -> list[str | None]:
    """Apply receipts with a handful of statements whatever their number; returns, per
    receipt, the message it completed (or None). A receipt whose part is not recorded
    yet is kept in early_receipts until it is."""
    if not receipts:
        return []
    # (carrier, id) pairs, so that the lookup uses the (carrier, carrier_message_id)
    # index: by id alone it scanned every segment ever sent, per group of receipts.
    wanted: dict[str, set[str]] = {}
    for receipt in receipts:
        wanted.setdefault(receipt.carrier, set()).update(receipt.carrier_message_ids)
    rows = await connection.fetch(*receipt_lookup(wanted))
    # message_id, number, carrier, carrier_message_id, segment_count, message status,
    # account, callback URL
    by_key = {(row[2], row[3]): row for row in rows}
    found: list[tuple[ReceiptUpdate, Any]] = []
    early: list[ReceiptUpdate] = []
    matched: list[str | None] = []  # per receipt, the message of the part it names
    for receipt in receipts:
        segment = next(
            (
                by_key[(receipt.carrier, form)]
                for form in receipt.carrier_message_ids
                if (receipt.carrier, form) in by_key
            ),
            None,
        )
        if segment is None:
            early.append(receipt)
            matched.append(None)
        else:
            found.append((receipt, segment))
            matched.append(segment[0])
    if early:
        await _keep_early_receipts(connection, early)
    if found:
        await connection.run_many(
            _RECORD_RECEIPT,
            [
                (receipt.status.value, receipt.received_at, receipt.error, segment[0], segment[1])
                for receipt, segment in found
            ],
        )
    # A one-part message takes its receipt's outcome; the others are read back whole.
    changes: dict[MessageStatus, dict[str, str | None]] = {}
    several_parts: set[str] = set()
    for receipt, (message_id, _number, _carrier, _id, segment_count, status, *_) in found:
        if segment_count == 1:
            _plan_change(changes, message_id, _STATUSES[status], [(receipt.status, receipt.error)])
        else:
            several_parts.add(message_id)
    await _plan_settling(connection, sorted(several_parts), changes)
    targets = {segment[0]: (segment[6], segment[7]) for _receipt, segment in found}
    for new_status, details in changes.items():
        change = _status_change(
            list(details), new_status, now, details=details, extra={"done_at": now}, targets=targets
        )
        await _write_status_change(connection, change)
    settled = {message_id for details in changes.values() for message_id in details}
    return [message_id if message_id in settled else None for message_id in matched]


async def _keep_early_receipts(
    connection: StoreConnection, receipts: Sequence[ReceiptUpdate]
) -> None:
    latest = {(r.carrier, r.carrier_message_ids[0]): r for r in receipts}
    for carrier in {carrier for carrier, _ in latest}:
        await connection.execute(
            early_receipts.delete().where(
                early_receipts.c.carrier == carrier,
                early_receipts.c.carrier_message_id.in_([key for c, key in latest if c == carrier]),
            )
        )
    await connection.execute(
        early_receipts.insert(),
        [
            {
                "carrier": carrier,
                "carrier_message_id": key,
                "status": receipt.status.value,
                "error": receipt.error,
                "received_at": receipt.received_at,
            }
            for (carrier, key), receipt in latest.items()
        ],
    )


async def _apply_early_receipts(
    connection: StoreConnection, pairs: set[tuple[str, str]], now: int
) -> None:
    early = [
        row
        for row in (
            await connection.execute(
                sa.select(early_receipts).where(
                    early_receipts.c.carrier_message_id.in_(sorted({pair[1] for pair in pairs}))
                )
            )
        ).all()
        if (row.carrier, row.carrier_message_id) in pairs
    ]
    if early:
        await _apply_early(connection, early, now)


async def _apply_early(connection: StoreConnection, early: Sequence[Any], now: int) -> None:
    for carrier in {row.carrier for row in early}:
        await connection.execute(
            early_receipts.delete().where(
                early_receipts.c.carrier == carrier,
                early_receipts.c.carrier_message_id.in_(
                    [row.carrier_message_id for row in early if row.carrier == carrier]
                ),
            )
        )
    await record_receipts(
        connection,
        [
            ReceiptUpdate(
                row.carrier,
                (row.carrier_message_id,),
                MessageStatus(row.status),
                row.error,
                row.received_at,
            )
            for row in early
        ],
        now,
    )


async def apply_waiting_receipts(store: Store, now: int, limit: int = 1000) -> int:
    """Apply early receipts whose parts are now recorded.

    record_submissions applies them in its own transaction, but on PostgreSQL a receipt
    committed while that transaction ran is seen by neither side; this sweep, run every
    few seconds, settles those."""
    async with store.write() as connection:
        rows = (
            await connection.execute(
                sa.select(early_receipts)
                .join(
                    message_segments,
                    sa.and_(
                        message_segments.c.carrier == early_receipts.c.carrier,
                        message_segments.c.carrier_message_id
                        == early_receipts.c.carrier_message_id,
                    ),
                )
                .limit(limit)
            )
        ).all()
        if rows:
            await _apply_early(connection, rows, now)
    return len(rows)


async def _plan_settling(
    connection: StoreConnection,
    message_ids: Sequence[str],
    changes: dict[MessageStatus, dict[str, str | None]],
) -> None:
    """Messages of several parts whose every part has its receipt take the worst
    part's outcome: added to `changes`."""
    if not message_ids:
        return
    parts: dict[str, list[tuple[MessageStatus, str | None]]] = {}
    for part in await connection.execute(
        sa.select(
            message_segments.c.message_id, message_segments.c.status, message_segments.c.error
        ).where(message_segments.c.message_id.in_(list(message_ids)))
    ):
        parts.setdefault(part.message_id, []).append((MessageStatus(part.status), part.error))
    current = {
        row.id: row
        for row in await connection.execute(
            sa.select(messages.c.id, messages.c.status, messages.c.segment_count).where(
                messages.c.id.in_(list(message_ids))
            )
        )
    }
    for message_id, message_parts in parts.items():
        message = current.get(message_id)
        if message is None or len(message_parts) < message.segment_count:
            continue
        _plan_change(changes, message_id, MessageStatus(message.status), message_parts)


def _plan_change(
    changes: dict[MessageStatus, dict[str, str | None]],
    message_id: str,
    was: MessageStatus,
    parts: Sequence[tuple[MessageStatus, str | None]],
) -> None:
    """Every part has its receipt: the message takes the worst part's outcome."""
    statuses = [status for status, _error in parts]
    if any(status not in RECEIPT_STATUSES for status in statuses):
        return
    outcome: MessageStatus = next(
        s
        for s in (MessageStatus.UNDELIVERED, MessageStatus.EXPIRED, MessageStatus.DELIVERED)
        if s in statuses
    )
    if was == outcome:
        return
    errors = sorted({error for _status, error in parts if error and error.strip("0")})
    detail = "receipt" + (f" err={','.join(errors)}" if errors else "")
    if was in FINAL_STATUSES:
        detail += f" (late: was {was.value})"
    changes.setdefault(outcome, {})[message_id] = detail


def overdue_query(now: int, default_validity: int, limit: int) -> sa.Select[tuple[str]]:
    """Submitted messages whose validity passed with no receipt."""
    validity = sa.func.coalesce(messages.c.validity_period, default_validity)
    validity_us = sa.cast(validity, sa.BigInteger) * 1_000_000
    return (
        sa.select(messages.c.id)
        .where(_IS_SUBMITTED, messages.c.submitted_at + validity_us < now)
        .limit(limit)
    )


async def expire_overdue(store: Store, now: int, default_validity: int, limit: int = 1000) -> int:
    """Submitted messages whose validity passed with no receipt become `expired`."""
    async with store.write() as connection:
        rows = (await connection.execute(overdue_query(now, default_validity, limit))).all()
        ids = [row.id for row in rows]
        if ids:
            change = _status_change(
                ids,
                MessageStatus.EXPIRED,
                now,
                details=dict.fromkeys(ids, "no receipt within the validity period"),
                extra={"done_at": now},
            )
            await _write_status_change(connection, change)
    return len(ids)


class _StatusChange(NamedTuple):
    """Messages moving to one status, as the rows of the statements that do it."""

    update: Sql
    update_rows: list[tuple[Any, ...]]
    event_rows: list[tuple[Any, ...]]
    webhooks: outbox.StatusEventRows


def _status_change(
    message_ids: Sequence[str],
    status: MessageStatus,
    now: int,
    *,
    details: dict[str, str | None],
    extra: dict[str, object] | None = None,
    carriers: dict[str, str | None] | None = None,
    targets: dict[str, outbox.WebhookTarget] | None = None,
) -> _StatusChange:
    """Set the status, free the claim and set `extra`, with history rows and webhooks.
    `targets`: where the webhooks of some of them go, when known."""
    extra = extra or {}
    columns = (*extra, "carrier") if carriers else tuple(extra)
    fixed = (status.value, now, *extra.values())
    if carriers:
        rows = [(*fixed, carriers.get(message_id), message_id) for message_id in message_ids]
    else:
        rows = [(*fixed, message_id) for message_id in message_ids]
    return _StatusChange(
        _status_update(columns),
        rows,
        [(message_id, status.value, now, details.get(message_id)) for message_id in message_ids],
        outbox.status_event_rows(message_ids, status, now, details, targets),
    )


async def _write_status_change(connection: StoreConnection, change: _StatusChange) -> None:
    await connection.run_many(change.update, change.update_rows)
    await connection.run_many(_INSERT_EVENT, change.event_rows)
    await outbox.write_status_events(connection, change.webhooks)


_INSERT_EVENT = Sql(
    "INSERT INTO message_events (message_id, status, occurred_at, detail) VALUES (?, ?, ?, ?)"
)
_STATUS_UPDATES: dict[tuple[str, ...], Sql] = {}


def _status_update(columns: tuple[str, ...]) -> Sql:
    """UPDATE setting the status, freeing the claim and setting `columns` (fixed names
    from this module, never from input), for one message id per parameter row."""
    sql = _STATUS_UPDATES.get(columns)
    if sql is None:
        assignments = "".join(f", {column} = ?" for column in columns)
        sql = _STATUS_UPDATES[columns] = Sql(
            "UPDATE messages SET status = ?, claimed_by = NULL, lease_until = NULL,"
            f" updated_at = ?{assignments} WHERE id = ?"
        )
    return sql
