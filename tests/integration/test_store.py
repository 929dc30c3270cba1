"""The store's contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chatti.store import IdempotencyConflictError, NotFoundError, outbox, queries, sending
from chatti.store import engine as store_engine
from chatti.store.engine import Store
from chatti.store.errors import StoreUnavailableError
from chatti.store.ids import new_ulid
from chatti.store.migrate import upgrade
from chatti.store.models import (
    Carrier,
    Idempotency,
    MessageStatus,
    NewMessage,
    Part,
    Route,
    StoredResponse,
)
from chatti.store.tables import api_keys, metadata, webhook_attempts
from tests.databases import ENGINES, fresh_database

pytestmark = pytest.mark.asyncio


def new_message(to: str = "+4915112345678", **fields: object) -> NewMessage:
    values: dict[str, object] = {
        "id": new_ulid(),
        "to_number": to,
        "country": "DE",
        "sender": "Chatti",
        "body": "hello",
        "encoding": "gsm7",
        "segment_count": 1,
    }
    values.update(fields)
    return NewMessage(**values)  # type: ignore[arg-type]


async def test_migrated_schema_matches_tables(store: Store) -> None:
    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_accept_and_read_back_with_history(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    message = new_message(reference="order-7", validity_period=3600)
    assert await queries.accept_messages(store, account.id, [message]) is None
    stored, history, parts = await queries.get_message(store, account.id, message.id)
    assert parts == []
    assert stored.status is MessageStatus.ACCEPTED
    assert (stored.to_number, stored.reference, stored.validity_period) == (
        "+4915112345678",
        "order-7",
        3600,
    )
    assert [change.status for change in history] == [MessageStatus.ACCEPTED]
    assert history[0].occurred_at == stored.created_at


async def test_accounts_never_see_each_others_messages(store: Store) -> None:
    alice, _ = await queries.create_account(store, "alice")
    bob, _ = await queries.create_account(store, "bob")
    message = new_message()
    await queries.accept_messages(store, alice.id, [message])
    with pytest.raises(NotFoundError):
        await queries.get_message(store, bob.id, message.id)
    assert await queries.list_messages(store, bob.id) == []
    assert [m.id for m in await queries.list_messages(store, alice.id)] == [message.id]


async def test_keys_are_stored_hashed_and_can_be_revoked(store: Store) -> None:
    account, key = await queries.create_account(store, "acme", is_admin=True)
    async with store.read() as connection:
        stored = (await connection.execute(sa.select(api_keys))).all()
    assert len(stored) == 1
    assert stored[0].key_hash != key
    assert not key.startswith(stored[0].key_hash)
    assert (await queries.account_for_key(store, key)) == account
    assert await queries.account_for_key(store, key + "x") is None
    (listed,) = await queries.list_api_keys(store, account.id)
    await queries.revoke_api_key(store, listed.id)
    assert await queries.account_for_key(store, key) is None
    with pytest.raises(NotFoundError):
        await queries.revoke_api_key(store, listed.id)


async def test_idempotency_returns_the_first_answer_or_conflicts(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    first = Idempotency("k1", "hash-a", StoredResponse(202, '{"id": "first"}'))
    assert await queries.accept_messages(store, account.id, [new_message()], first) is None
    again = Idempotency("k1", "hash-a", StoredResponse(202, '{"id": "second"}'))
    assert await queries.accept_messages(store, account.id, [new_message()], again) == (
        StoredResponse(202, '{"id": "first"}')
    )
    assert await queries.count_messages(store, account.id) == 1
    other = Idempotency("k1", "hash-b", StoredResponse(202, "{}"))
    with pytest.raises(IdempotencyConflictError):
        await queries.accept_messages(store, account.id, [new_message()], other)
    # keys belong to one account: another account may use the same key
    bob, _ = await queries.create_account(store, "bob")
    assert await queries.accept_messages(store, bob.id, [new_message()], other) is None


async def test_concurrent_requests_with_one_key_write_once(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")

    async def attempt() -> StoredResponse | None:
        key = Idempotency("same", "h", StoredResponse(202, "{}"))
        return await queries.accept_messages(store, account.id, [new_message()], key)

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert results.count(None) == 1
    assert await queries.count_messages(store, account.id) == 1


async def test_batch_is_all_or_nothing(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    duplicate = new_message()
    with pytest.raises(sa.exc.IntegrityError):
        await queries.accept_messages(store, account.id, [new_message(), duplicate, duplicate])
    assert await queries.count_messages(store, account.id) == 0


async def test_listing_filters_and_pages(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    batch = [new_message(to=f"+49151123456{n:02d}") for n in range(25)]
    await queries.accept_messages(store, account.id, batch)
    seen: list[str] = []
    cursor = None
    while True:
        page = await queries.list_messages(store, account.id, before_id=cursor, limit=10)
        seen.extend(m.id for m in page)
        if len(page) < 10:
            break
        cursor = page[-1].id
    assert seen == sorted((m.id for m in batch), reverse=True)
    only = await queries.list_messages(store, account.id, to_number="+4915112345607")
    assert [m.id for m in only] == [batch[7].id]
    assert await queries.list_messages(store, account.id, status=MessageStatus.DELIVERED) == []
    created = only[0].created_at
    assert len(await queries.list_messages(store, account.id, since=created, limit=100)) == 25
    assert await queries.list_messages(store, account.id, until=created) == []


async def test_carriers_and_routes(store: Store) -> None:
    acme = Carrier("acme", "127.0.0.1", 2775, "chatti", "secret", window=50)
    await queries.upsert_carrier(store, acme)
    await queries.upsert_carrier(store, Carrier("acme", "10.0.0.1", 2776, "chatti", "s2"))
    (stored,) = await queries.list_carriers(store)
    assert (stored.host, stored.port, stored.password) == ("10.0.0.1", 2776, "s2")
    table = [Route("DE", ("acme",)), Route("*", ("acme",))]
    await queries.replace_routes(store, table)
    assert await queries.list_routes(store) == table
    await queries.replace_routes(store, [])
    assert await queries.list_routes(store) == []
    await queries.delete_carrier(store, "acme")
    with pytest.raises(NotFoundError):
        await queries.delete_carrier(store, "acme")


async def test_group_commit_shares_transactions_and_keeps_requests_apart(store: Store) -> None:
    from chatti.store.group_commit import AcceptQueue

    account, _ = await queries.create_account(store, "acme")
    accepts = AcceptQueue(store)
    used = Idempotency("used", "h1", StoredResponse(202, '{"first": true}'))
    assert await accepts.accept(account.id, [new_message()], used) is None

    async def plain() -> object:
        return await accepts.accept(account.id, [new_message()])

    async def reused_differently() -> object:
        other = Idempotency("used", "h2", StoredResponse(202, "{}"))
        return await accepts.accept(account.id, [new_message()], other)

    async def twice_in_one_group() -> object:
        key = Idempotency("fresh", "h", StoredResponse(202, '{"fresh": true}'))
        return await accepts.accept(account.id, [new_message()], key)

    outcomes = await asyncio.gather(
        *(plain() for _ in range(40)),
        reused_differently(),
        twice_in_one_group(),
        twice_in_one_group(),
        return_exceptions=True,
    )
    assert outcomes[:40] == [None] * 40
    assert isinstance(outcomes[40], IdempotencyConflictError)
    assert sorted(map(repr, outcomes[41:])) == sorted(
        [repr(None), repr(StoredResponse(202, '{"fresh": true}'))]
    )
    assert await queries.count_messages(store, account.id) == 1 + 40 + 1
    assert accepts.groups < accepts.requests  # concurrent requests did share commits
    await accepts.close()


async def test_claims_are_leases_and_a_lost_lease_flags_a_possible_duplicate(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    batch = [new_message(to=f"+49151123456{n:02d}") for n in range(5)]
    await queries.accept_messages(store, account.id, batch)
    now = queries.now_us()
    first = await sending.claim_messages(store, "node-a", 3, 30, now)
    second = await sending.claim_messages(store, "node-b", 10, 30, now)
    assert len(first) == 3
    assert len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert await sending.claim_messages(store, "node-c", 10, 30, now) == []
    # node-a dies: after its lease another node takes its messages, flagged
    later = now + 31_000_000
    taken = await sending.claim_messages(store, "node-c", 10, 30, later)
    assert {m.id for m in taken} == {m.id for m in first} | {m.id for m in second}
    assert all(m.possible_duplicate and m.attempts == 2 for m in taken)
    assert await sending.release_claims(store, "node-c") == 5
    again = await sending.claim_messages(store, "node-d", 10, 30, later)
    assert len(again) == 5
    assert all(m.attempts == 3 for m in again)


async def test_receipt_before_the_submit_is_recorded_is_kept_and_applied(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    message = new_message()
    await queries.accept_messages(store, account.id, [message])
    now = queries.now_us()
    await sending.claim_messages(store, "node", 10, 30, now)
    early = sending.ReceiptUpdate("acme-carrier", ("7f",), MessageStatus.DELIVERED, None, now)
    async with store.write() as connection:
        assert await sending.record_receipts(connection, [early], now) == [None]
    submitted = sending.Submission(
        message.id, "acme-carrier", (sending.SubmittedSegment(1, "7f"),), complete=True
    )
    async with store.write() as connection:
        await sending.record_submissions(connection, [submitted], now)
    parts = await _delivered_after_its_submit(store, account.id, message.id)
    assert parts[0].carrier_message_id == "7f"
    assert parts[0].receipt_at == now


async def test_same_carrier_id_at_another_carrier_is_not_matched(store: Store) -> None:
    account, _ = await queries.create_account(store, "acme")
    message = new_message()
    await queries.accept_messages(store, account.id, [message])
    now = queries.now_us()
    submitted = sending.Submission(
        message.id, "first", (sending.SubmittedSegment(1, "42"),), complete=True
    )
    async with store.write() as connection:
        await sending.record_submissions(connection, [submitted], now)
        other = sending.ReceiptUpdate("second", ("42",), MessageStatus.DELIVERED, None, now)
        assert await sending.record_receipts(connection, [other], now) == [None]
    stored, _, _ = await queries.get_message(store, account.id, message.id)
    assert stored.status is MessageStatus.SUBMITTED


@asynccontextmanager
async def _sqlite_store_and_lock_holder(tmp_path: Path) -> AsyncIterator[tuple[Store, Any]]:
    """A migrated SQLite store, and a second connection (as another process would be)
    that holds its write lock until it runs COMMIT."""
    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}")
    try:
        await upgrade(store)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield store, other
        finally:
            other.close()
    finally:
        await store.close()


async def test_sqlite_write_waits_for_another_writer_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    """A second process (here a plain sqlite3 connection) holds the write lock: the
    store's write waits for it while the event loop keeps running, then commits."""
    async with _sqlite_store_and_lock_holder(tmp_path) as (store, other):
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = asyncio.create_task(tick())
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        account, _key = await queries.create_account(store, "waited")
        ticker.cancel()
        assert ticks >= 20, "the loop stood still while the lock was held"
        assert account.id in {a.id for a in await queries.list_accounts(store)}


async def test_sqlite_write_gives_up_on_a_lock_held_too_long_and_works_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for the write lock ends in StoreUnavailableError at the deadline, and
    the connection is left clean: the next write, once the lock is free, commits."""
    monkeypatch.setattr(store_engine, "BUSY_TIMEOUT_MS", 200)
    async with _sqlite_store_and_lock_holder(tmp_path) as (store, other):
        with pytest.raises(StoreUnavailableError, match="locked"):
            await queries.create_account(store, "refused")
        other.execute("COMMIT")
        account, _key = await queries.create_account(store, "later")
        assert [a.name for a in await queries.list_accounts(store)] == ["later"]
        assert account.name == "later"


@asynccontextmanager
async def store_at(engine: str, directory: Path, revision: str) -> AsyncIterator[Store]:
    """A store on a fresh database migrated only up to `revision`, to test what a later
    migration does with the rows of an older schema."""
    async with fresh_database(engine, directory) as url:
        store = Store(url)
        try:
            await upgrade(store, revision)
            yield store
        finally:
            await store.close()


@pytest.mark.parametrize("engine", ENGINES)
async def test_pending_webhooks_of_the_old_form_survive_migration_0003(
    engine: str, tmp_path: Path
) -> None:
    async with store_at(engine, tmp_path, "0002") as store:
        account, _key = await queries.create_account(store, "old")
        message = new_message()
        await queries.accept_messages(store, account.id, [message])
        async with store.write() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO webhook_outbox (account_id, message_id, url, payload, attempts,"
                    " next_attempt_at, created_at) VALUES (:a, :m, 'http://127.0.0.1:9/h',"
                    " :p, 0, 0, 5)"
                ),
                {"a": account.id, "m": message.id, "p": '{"status": "submitted", "detail": "x"}'},
            )
        await upgrade(store)
        (pending,) = await outbox.claim_webhooks(store, "node", 10, 60, 10)
        assert pending.payload["status"] == "submitted"
        assert pending.payload["detail"] == "x"
        assert pending.payload["to"] == message.to_number


async def test_a_webhook_claim_records_the_previous_rounds_attempts(store: Store) -> None:
    hook = "http://127.0.0.1:9/hook"
    account, _ = await queries.create_account(store, "shop", callback_url=hook)
    batch = [new_message(f"+491511234560{n}") for n in range(3)]
    await queries.accept_messages(store, account.id, batch)
    async with store.write() as connection:
        await outbox.write_status_events(
            connection,
            outbox.status_event_rows([m.id for m in batch], MessageStatus.SUBMITTED, 10, {}),
        )
    first = await outbox.claim_webhooks(store, "node", 2, 60, 20)
    assert len(first) == 2
    settle = [
        outbox.WebhookAttempt(hook, (first[0].id,), 30, 200, None, 1, True, None),
        outbox.WebhookAttempt(hook, (first[1].id,), 30, 500, "HTTP 500", 1, False, 10**15),
    ]
    second = await outbox.claim_webhooks(store, "node", 10, 60, 40, settle=settle)
    # The third event only: the first is delivered, the second waits for its retry.
    assert [event.payload["message_id"] for event in second] == [batch[2].id]
    assert await outbox.webhook_counts(store) == {"pending": 2, "delivered": 1, "gave_up": 0}
    async with store.read() as connection:
        codes = (await connection.execute(sa.select(webhook_attempts.c.status_code))).scalars()
        assert sorted(codes) == [200, 500]


@pytest.mark.parametrize("engine", ENGINES)
async def test_messages_waiting_before_migration_0006_are_claimed_and_expired_after_it(
    engine: str, tmp_path: Path
) -> None:
    async with store_at(engine, tmp_path, "0005") as store:
        account, _key = await queries.create_account(store, "old")
        waiting, sent = new_message("+4915112345670"), new_message("+4915112345671")
        await queries.accept_messages(store, account.id, [waiting, sent])
        (claimed,) = await sending.claim_messages(store, "node", 1, 60, queries.now_us())
        async with store.write() as connection:
            await sending.record_submissions(
                connection, [sending.Submission(claimed.id, "sim", (), True)], 1
            )
        await upgrade(store)
        (later,) = await sending.claim_messages(store, "node", 10, 60, queries.now_us())
        assert {later.id, claimed.id} == {waiting.id, sent.id}
        assert await sending.expire_overdue(store, 10**16, 60) == 1


async def test_outcomes_are_staged_before_the_transaction(store: Store) -> None:
    """stage_outcomes builds the submits' rows without the database; the statements it
    returns then record submits, failures and receipts in one transaction."""
    account, _ = await queries.create_account(store, "acme", callback_url="http://hook.test/")
    sent, refused = new_message(), new_message("+4915112345699")
    await queries.accept_messages(store, account.id, [sent, refused])
    await sending.claim_messages(store, "node", 10, 30, queries.now_us())
    outcomes: list[sending.Outcome] = [
        sending.Submission(
            sent.id, "acme-carrier", (sending.SubmittedSegment(1, "a1"),), complete=True
        ),
        sending.Submission(refused.id, "acme-carrier", (), False, failed="refused"),
        sending.ReceiptUpdate("acme-carrier", ("a1",), MessageStatus.DELIVERED, None, 1),
    ]
    statements = sending.stage_outcomes(outcomes)  # no connection, no lock: pure work
    async with store.write() as connection:
        assert await statements(connection) == [None, None, None]
    await _delivered_after_its_submit(store, account.id, sent.id)
    failed, _, _ = await queries.get_message(store, account.id, refused.id)
    assert failed.status is MessageStatus.FAILED
    assert await outbox.webhook_counts(store) == {"pending": 3, "delivered": 0, "gave_up": 0}


async def _delivered_after_its_submit(store: Store, account_id: str, message_id: str) -> list[Part]:
    """The message is delivered, with the history of a submit then its receipt; its parts."""
    stored, history, parts = await queries.get_message(store, account_id, message_id)
    assert stored.status is MessageStatus.DELIVERED
    assert [c.status for c in history] == [
        MessageStatus.ACCEPTED,
        MessageStatus.SUBMITTED,
        MessageStatus.DELIVERED,
    ]
    return parts
