"""Who checkpoints SQLite's WAL: a node's commits never do; its API process's thread
does (store/checkpoint.py). Real database files, sizes read from the disk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chatti.store import checkpoint, queries
from chatti.store.checkpoint import WalCheckpoints
from chatti.store.engine import Store, sqlite_url
from chatti.store.ids import new_ulid
from chatti.store.migrate import upgrade
from chatti.store.models import NewMessage
from chatti.store.queries import now_us

pytestmark = pytest.mark.asyncio

PAGE = 4096


async def _accept(store: Store, account_id: str, count: int, *, per_commit: int = 500) -> None:
    for start in range(0, count, per_commit):
        batch = [
            NewMessage(new_ulid(), f"+491511{n:07d}", "DE", "Chatti", f"code {n:07d}", "gsm7", 1)
            for n in range(start, min(count, start + per_commit))
        ]
        async with store.write() as connection:
            await queries.insert_accepted(connection, [(account_id, batch, None)], now_us())
        await asyncio.sleep(0.01)  # the checkpointer's thread gets its turns


@asynccontextmanager
async def _bulk_store(
    database: Path, checkpoints: WalCheckpoints, messages: int
) -> AsyncIterator[tuple[Store, int]]:
    """A migrated store with `messages` accepted, and the database file's size before."""
    store = Store(sqlite_url(database), checkpoints=checkpoints)
    try:
        await upgrade(store)
        account, _key = await queries.create_account(store, "bulk")
        file_before, _wal = _sizes(database)
        await _accept(store, account.id, messages)
        yield store, file_before
    finally:
        await store.close()


def _sizes(database: Path) -> tuple[int, int]:
    wal = database.with_name(database.name + "-wal")
    return database.stat().st_size, wal.stat().st_size if wal.exists() else 0


async def test_commits_of_a_node_process_leave_the_wal_unchecked(tmp_path: Path) -> None:
    """ELSEWHERE (a sender process): well past SQLite's 1,000 pages, no commit copied
    the WAL into the database file, so none stalled on it."""
    database = tmp_path / "chatti.db"
    async with _bulk_store(database, WalCheckpoints.ELSEWHERE, 20_000) as (_store, file_before):
        file_after, wal = _sizes(database)
        assert wal > 1_500 * PAGE, "the WAL was checkpointed and started again"
        assert file_after == file_before, "a commit copied pages into the database file"
    assert _count(database) == 20_000


async def test_the_background_thread_checkpoints_and_keeps_the_wal_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BACKGROUND (the API process): the thread copies the WAL into the database file
    and makes it start again, so it stays near RESTART_FRAMES while writes go on; every
    row is there, read by another connection, and after the store closed."""
    monkeypatch.setattr(checkpoint, "RESTART_FRAMES", 256)
    database = tmp_path / "chatti.db"
    async with _bulk_store(database, WalCheckpoints.BACKGROUND, 12_000) as (store, file_before):
        await asyncio.sleep(3 * checkpoint.CHECKPOINT_INTERVAL_SECONDS)
        file_after, wal = _sizes(database)
        checkpointer = store.checkpointer
        assert checkpointer is not None
        assert checkpointer.restarts >= 2
        assert file_after > file_before + 256 * PAGE
        # A restart lets the next commit write from the WAL's start: its file is as
        # large as the most written between two restarts, not all that was written.
        assert wal < 1_500 * PAGE
        assert _count(database) == 12_000
    assert store.checkpointer is None
    assert _count(database) == 12_000


async def test_a_store_before_its_database_file_exists_checkpoints_once_it_does(
    tmp_path: Path,
) -> None:
    """A new node opens its store before the migration creates the file: the thread
    waits for it rather than creating an empty one, then checkpoints."""
    database = tmp_path / "new" / "chatti.db"
    store = Store(sqlite_url(database), checkpoints=WalCheckpoints.BACKGROUND)
    try:
        await asyncio.sleep(3 * checkpoint.CHECKPOINT_INTERVAL_SECONDS)
        assert not database.exists()
        await upgrade(store)
        account, _key = await queries.create_account(store, "later")
        await _accept(store, account.id, 1_000)
        checkpointer = store.checkpointer
        assert checkpointer is not None
        for _ in range(50):
            if checkpointer.checkpoints:
                break
            await asyncio.sleep(checkpoint.CHECKPOINT_INTERVAL_SECONDS)
        assert checkpointer.checkpoints >= 1
    finally:
        await store.close()


def _count(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        connection.close()
