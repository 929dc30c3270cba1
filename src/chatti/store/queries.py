"""Every query of Chatti, as named async functions returning the values of models.py.

No other package writes SQL. A status change and its history row are written in one
transaction; accepting messages is one transaction, so a batch is never half-written
and "accepted" always means "committed".
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence

import sqlalchemy as sa

from chatti.store import ids
from chatti.store.engine import Sql, Store, StoreConnection
from chatti.store.errors import IdempotencyConflictError, NotFoundError
from chatti.store.models import (
    Account,
    ApiKey,
    Carrier,
    Idempotency,
    Message,
    MessageStatus,
    NewMessage,
    Part,
    Route,
    StatusChange,
    StoredResponse,
)
from chatti.store.tables import (
    accounts,
    api_keys,
    carriers,
    idempotency_keys,
    message_events,
    message_segments,
    messages,
    routes,
)


def now_us() -> int:
    return time.time_ns() // 1000


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


# Accounts and keys ------------------------------------------------------------------


async def create_account(
    store: Store,
    name: str,
    *,
    is_admin: bool = False,
    callback_url: str | None = None,
    webhook_batch_max: int = 100,
) -> tuple[Account, str]:
    """A new account and its first API key (the plaintext, shown once)."""
    account = Account(
        ids.new_account_id(),
        name,
        is_admin,
        callback_url,
        now_us(),
        secrets.token_hex(32),
        webhook_batch_max,
    )
    async with store.write() as connection:
        await connection.execute(
            accounts.insert().values(
                id=account.id,
                name=account.name,
                is_admin=account.is_admin,
                callback_url=account.callback_url,
                created_at=account.created_at,
                webhook_secret=account.webhook_secret,
                webhook_batch_max=account.webhook_batch_max,
            )
        )
        _, key = await _insert_api_key(connection, account.id)
    return account, key


async def create_api_key(store: Store, account_id: str) -> tuple[ApiKey, str]:
    async with store.write() as connection:
        exists = await connection.scalar(
            sa.select(sa.func.count()).where(accounts.c.id == account_id)
        )
        if not exists:
            raise NotFoundError(f"no account {account_id}")
        return await _insert_api_key(connection, account_id)


async def _insert_api_key(connection: StoreConnection, account_id: str) -> tuple[ApiKey, str]:
    plaintext = ids.new_api_key()
    key = ApiKey(ids.new_key_id(), account_id, plaintext[:12], now_us(), None)
    await connection.execute(
        api_keys.insert().values(
            id=key.id,
            account_id=account_id,
            key_hash=hash_key(plaintext),
            prefix=key.prefix,
            created_at=key.created_at,
        )
    )
    return key, plaintext


async def revoke_api_key(store: Store, key_id: str) -> None:
    async with store.write() as connection:
        result = await connection.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now_us())
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no active key {key_id}")


async def account_for_key(store: Store, plaintext: str) -> Account | None:
    query = (
        sa.select(accounts)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(api_keys.c.key_hash == hash_key(plaintext), api_keys.c.revoked_at.is_(None))
    )
    async with store.read() as connection:
        row = (await connection.execute(query)).first()
    return Account.from_row(row) if row else None


async def get_account(store: Store, account_id: str) -> Account:
    async with store.read() as connection:
        row = (
            await connection.execute(sa.select(accounts).where(accounts.c.id == account_id))
        ).first()
    if row is None:
        raise NotFoundError(f"no account {account_id}")
    return Account.from_row(row)


async def update_account(
    store: Store,
    account_id: str,
    *,
    callback_url: str | None = None,
    clear_callback_url: bool = False,
    webhook_batch_max: int | None = None,
) -> Account:
    values: dict[str, object] = {}
    if callback_url is not None or clear_callback_url:
        values["callback_url"] = callback_url
    if webhook_batch_max is not None:
        values["webhook_batch_max"] = webhook_batch_max
    async with store.write() as connection:
        if values:
            await connection.execute(
                accounts.update().where(accounts.c.id == account_id).values(**values)
            )
        row = (
            await connection.execute(sa.select(accounts).where(accounts.c.id == account_id))
        ).first()
    if row is None:
        raise NotFoundError(f"no account {account_id}")
    return Account.from_row(row)


async def list_accounts(store: Store) -> list[Account]:
    async with store.read() as connection:
        rows = await connection.execute(sa.select(accounts).order_by(accounts.c.created_at))
    return [Account.from_row(row) for row in rows]


async def count_accounts(store: Store) -> int:
    async with store.read() as connection:
        return int(await connection.scalar(sa.select(sa.func.count()).select_from(accounts)) or 0)


async def list_api_keys(store: Store, account_id: str) -> list[ApiKey]:
    async with store.read() as connection:
        rows = await connection.execute(
            sa.select(api_keys)
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.created_at)
        )
    return [ApiKey.from_row(row) for row in rows]


# Messages ---------------------------------------------------------------------------


async def accept_messages(
    store: Store,
    account_id: str,
    new: Sequence[NewMessage],
    idempotency: Idempotency | None = None,
) -> StoredResponse | None:
    """Commit new messages, each with its "accepted" history row, in one transaction.

    With an idempotency key seen before, nothing is written: the first answer is
    returned when the request is the same, IdempotencyConflictError raised when not.
    Returns None when the messages were written now.
    """
    for attempt in range(2):
        try:
            return await _accept(store, account_id, new, idempotency)
        except sa.exc.IntegrityError:
            # Two nodes raced with one idempotency key on PostgreSQL: the loser reads
            # the winner's answer on its second try.
            if idempotency is None or attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _accept(
    store: Store, account_id: str, new: Sequence[NewMessage], idempotency: Idempotency | None
) -> StoredResponse | None:
    async with store.write() as connection:
        if idempotency is not None:
            earlier = await earlier_answer(connection, account_id, idempotency)
            if earlier is not None:
                return earlier
        await insert_accepted(connection, [(account_id, new, idempotency)], now_us())
    return None


async def earlier_answer(
    connection: StoreConnection, account_id: str, idempotency: Idempotency
) -> StoredResponse | None:
    """The answer stored for this key, None if unused; raises when the request differs."""
    earlier = (
        await connection.execute(
            sa.select(idempotency_keys).where(
                idempotency_keys.c.account_id == account_id,
                idempotency_keys.c.key == idempotency.key,
            )
        )
    ).first()
    if earlier is None:
        return None
    if earlier.request_hash != idempotency.request_hash:
        raise IdempotencyConflictError(idempotency.key)
    return StoredResponse(earlier.response_status, earlier.response_body)


AcceptRequest = tuple[str, Sequence[NewMessage], Idempotency | None]


_INSERT_MESSAGE = Sql(
    "INSERT INTO messages (id, account_id, to_number, country, sender, body, encoding,"
    " segment_count, status, callback_url, validity_period, reference, created_at,"
    " updated_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVENT = Sql(
    "INSERT INTO message_events (message_id, status, occurred_at, detail) VALUES (?, ?, ?, NULL)"
)


async def insert_accepted(
    connection: StoreConnection, requests: Sequence[AcceptRequest], now: int
) -> None:
    """Insert the messages of several accept requests, their history rows and their
    idempotency keys, with one statement per table."""
    accepted = MessageStatus.ACCEPTED.value
    message_rows = [
        (
            message.id,
            account_id,
            message.to_number,
            message.country,
            message.sender,
            message.body,
            message.encoding,
            message.segment_count,
            accepted,
            message.callback_url,
            message.validity_period,
            message.reference,
            now,
            now,
            now,
        )
        for account_id, new, _ in requests
        for message in new
    ]
    if message_rows:
        await connection.run_many(_INSERT_MESSAGE, message_rows)
        await connection.run_many(_INSERT_EVENT, [(row[0], accepted, now) for row in message_rows])
    key_rows = [
        {
            "account_id": account_id,
            "key": idempotency.key,
            "request_hash": idempotency.request_hash,
            "response_status": idempotency.response.status,
            "response_body": idempotency.response.body,
            "created_at": now,
        }
        for account_id, _, idempotency in requests
        if idempotency is not None
    ]
    if key_rows:
        await connection.execute(idempotency_keys.insert(), key_rows)


async def get_message(
    store: Store, account_id: str, message_id: str
) -> tuple[Message, list[StatusChange], list[Part]]:
    """A message of this account with its history (oldest change first) and its parts."""
    async with store.read() as connection:
        row = (
            await connection.execute(
                sa.select(messages).where(
                    messages.c.id == message_id, messages.c.account_id == account_id
                )
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no message {message_id}")
        history = await connection.execute(
            sa.select(message_events)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.id)
        )
        changes = [StatusChange.from_row(event) for event in history]
        parts = await connection.execute(
            sa.select(message_segments)
            .where(message_segments.c.message_id == message_id)
            .order_by(message_segments.c.number)
        )
        return Message.from_row(row), changes, [Part.from_row(part) for part in parts]


async def list_messages(
    store: Store,
    account_id: str,
    *,
    status: MessageStatus | None = None,
    to_number: str | None = None,
    since: int | None = None,
    until: int | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> list[Message]:
    """This account's messages, newest first; `before_id` is the cursor of the next page."""
    query = sa.select(messages).where(messages.c.account_id == account_id)
    if status is not None:
        query = query.where(messages.c.status == status.value)
    if to_number is not None:
        query = query.where(messages.c.to_number == to_number)
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    if until is not None:
        query = query.where(messages.c.created_at < until)
    if before_id is not None:
        query = query.where(messages.c.id < before_id)
    query = query.order_by(messages.c.id.desc()).limit(limit)
    async with store.read() as connection:
        rows = await connection.execute(query)
    return [Message.from_row(row) for row in rows]


async def count_messages(store: Store, account_id: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(messages)
    if account_id is not None:
        query = query.where(messages.c.account_id == account_id)
    async with store.read() as connection:
        return int(await connection.scalar(query) or 0)


async def message_ids_present(store: Store, wanted: Sequence[str]) -> set[str]:
    """Which of these message ids are stored (crash tests use it)."""
    found: set[str] = set()
    async with store.read() as connection:
        for start in range(0, len(wanted), 500):
            chunk = list(wanted[start : start + 500])
            rows = await connection.execute(
                sa.select(messages.c.id).where(messages.c.id.in_(chunk))
            )
            found.update(row.id for row in rows)
    return found


# Carriers and routes ----------------------------------------------------------------


async def upsert_carrier(store: Store, carrier: Carrier) -> None:
    values = {
        "host": carrier.host,
        "port": carrier.port,
        "system_id": carrier.system_id,
        "password": carrier.password,
        "system_type": carrier.system_type,
        "bind_type": carrier.bind_type,
        "window": carrier.window,
        "max_tps": carrier.max_tps,
        "binds": carrier.binds,
    }
    async with store.write() as connection:
        updated = await connection.execute(
            carriers.update().where(carriers.c.name == carrier.name).values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                carriers.insert().values(name=carrier.name, created_at=now_us(), **values)
            )


async def list_carriers(store: Store) -> list[Carrier]:
    async with store.read() as connection:
        rows = await connection.execute(sa.select(carriers).order_by(carriers.c.name))
    return [Carrier.from_row(row) for row in rows]


async def delete_carrier(store: Store, name: str) -> None:
    async with store.write() as connection:
        result = await connection.execute(carriers.delete().where(carriers.c.name == name))
        if result.rowcount == 0:
            raise NotFoundError(f"no carrier {name}")


async def replace_routes(store: Store, table: Sequence[Route]) -> None:
    """The whole route table at once, so no reader ever sees half of it."""
    async with store.write() as connection:
        await connection.execute(routes.delete())
        if table:
            await connection.execute(
                routes.insert(),
                [
                    {"position": position, "match": route.match, "carriers": list(route.carriers)}
                    for position, route in enumerate(table)
                ],
            )


async def list_routes(store: Store) -> list[Route]:
    async with store.read() as connection:
        rows = await connection.execute(sa.select(routes).order_by(routes.c.position))
    return [Route(row.match, tuple(row.carriers)) for row in rows]
