"""Opening the database: one code path, two engines.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, so a commit is on
disk before it returns, even across a power cut; writes go through one connection,
which starts its transactions with BEGIN IMMEDIATE (SQLite has a single writer: taking
the lock up front means a transaction never fails half way on a busy database).
Reads use a small pool of their own (aiosqlite, in threads). PostgreSQL, for several
nodes, uses asyncpg with one pool for both.

SQLite writes run on the event loop itself, through the plain sqlite3 driver: a write
transaction is short (statements over an indexed file, then one fsync), and sending
each statement to a thread and back cost more CPU than running it (measured: 15 % of
the node's CPU per message, docs/performance.md). The write lock is taken without
waiting (busy_timeout 0) and retried with asyncio.sleep, so another process holding it
(a second node process, a `chatti` command) never blocks the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from chatti.store.checkpoint import WalCheckpointer, WalCheckpoints
from chatti.store.errors import StoreUnavailableError

BUSY_TIMEOUT_MS = 10_000  # how long a reader or a second process waits for SQLite's lock
LOCK_RETRY_FIRST = 0.0002  # seconds between tries for the write lock: first,
LOCK_RETRY_MAX = 0.001  # and at most


class Sql:
    """A statement for the busiest paths, written once in SQLite's form (`?` for each
    parameter) and handed to the database driver as it is: SQLAlchemy's work per row
    (building and processing a dict of parameters) cost as much CPU as SQLite's own
    (docs/performance.md). The PostgreSQL form numbers the parameters ($1, $2, ...);
    give it when the two dialects differ in more than that."""

    __slots__ = ("_postgresql", "sqlite")

    def __init__(self, sqlite: str, postgresql: str | None = None) -> None:
        self.sqlite = sqlite
        self._postgresql = postgresql

    @property
    def postgresql(self) -> str:
        # Made when first asked: statements built per group (an IN list) on SQLite
        # never need it.
        if self._postgresql is None:
            self._postgresql = _numbered(self.sqlite)
        return self._postgresql

    @classmethod
    def claiming(cls, template: str) -> Sql:
        """A claim whose `{lock}` takes FOR UPDATE SKIP LOCKED on PostgreSQL, so that
        nodes claiming at once take different rows (SQLite has one writer anyway)."""
        return cls(
            template.format(lock=""), _numbered(template.format(lock="FOR UPDATE SKIP LOCKED"))
        )

    def text(self, dialect: str) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgresql


def _numbered(sqlite: str) -> str:
    pieces = sqlite.split("?")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))


def placeholders(count: int) -> str:
    """ "?, ?, ?" for an IN list of `count` values."""
    return ", ".join("?" * count)


class StoreConnection(Protocol):
    """What queries get inside `Store.write()` or `Store.read()`: SQLAlchemy statements
    through `execute` and `scalar`, and `Sql` statements through `run_many` (one
    statement, many parameter rows) and `fetch` (the rows of one statement)."""

    async def execute(self, statement: Any, parameters: Any = None) -> Any: ...

    async def scalar(self, statement: Any, parameters: Any = None) -> Any: ...

    async def run_many(self, sql: Sql, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: Sql, parameters: Sequence[Any] = ()) -> list[Any]: ...


class InlineConnection:
    """A synchronous SQLAlchemy connection behind awaitable methods: each call runs at
    once on the caller's thread (see the module's docstring)."""

    __slots__ = ("driver", "sync")

    def __init__(self, sync: sa.Connection) -> None:
        self.sync = sync
        self.driver: Any = sync.connection.driver_connection  # the sqlite3 connection

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync.scalar(statement, parameters)

    async def run_many(self, sql: Sql, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.driver.executemany(sql.sqlite, rows)
        except sqlite3.Error as error:
            raise _wrapped(sql, error) from error

    async def fetch(self, sql: Sql, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            rows: list[Any] = self.driver.execute(sql.sqlite, parameters).fetchall()
        except sqlite3.Error as error:
            raise _wrapped(sql, error) from error
        return rows


def _wrapped(sql: Sql, error: sqlite3.Error) -> sa.exc.StatementError:
    """The driver's error as SQLAlchemy would have raised it (IntegrityError,
    OperationalError...), so callers catch one family whichever way a statement ran."""
    return sa.exc.DBAPIError.instance(sql.sqlite, None, error, sqlite3.Error)


class AsyncStoreConnection:
    """SQLAlchemy's AsyncConnection (PostgreSQL, and SQLite reads), with `Sql`
    statements passed to the driver through exec_driver_sql."""

    __slots__ = ("_dialect", "inner")

    def __init__(self, inner: AsyncConnection) -> None:
        self.inner = inner
        self._dialect = inner.dialect.name

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self.inner.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self.inner.scalar(statement, parameters)

    async def run_many(self, sql: Sql, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.inner.exec_driver_sql(sql.text(self._dialect), list(rows))

    async def fetch(self, sql: Sql, parameters: Sequence[Any] = ()) -> list[Any]:
        result = await self.inner.exec_driver_sql(sql.text(self._dialect), tuple(parameters))
        return list(result.all())


def async_url(url: str) -> str:
    """Turn a plain database URL from a config file into its asyncio driver's."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Store:
    """The open database: `write()` and `read()` lend a connection inside a transaction."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        checkpoints: WalCheckpoints = WalCheckpoints.INLINE,
    ) -> None:
        """`checkpoints`: who checkpoints a SQLite file's WAL (store/checkpoint.py)."""
        self.url = async_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self._checkpointer: WalCheckpointer | None = None
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                if checkpoints is WalCheckpoints.BACKGROUND:
                    self._checkpointer = WalCheckpointer(Path(database))
                    self._checkpointer.start()
            else:
                checkpoints = WalCheckpoints.INLINE
            self._inline: sa.Engine | None = sa.create_engine(
                make_url(self.url).set(drivername="sqlite"), pool_size=1, max_overflow=0
            )
            self._inline_lock = asyncio.Lock()
            self._reader = create_async_engine(self.url, pool_size=4, max_overflow=0)
            self._row_reader: sa.Engine | None = sa.create_engine(
                make_url(self.url).set(drivername="sqlite"), pool_size=1, max_overflow=0
            )
            self._row_thread = ThreadPoolExecutor(1, thread_name_prefix="chatti-rows")
            _configure_sqlite(
                self._inline,
                busy_timeout_ms=0,
                begin=None,
                auto_checkpoint=checkpoints is WalCheckpoints.INLINE,
            )
            _configure_sqlite(self._row_reader, busy_timeout_ms=BUSY_TIMEOUT_MS, begin=None)
            _configure_sqlite(
                self._reader.sync_engine, busy_timeout_ms=BUSY_TIMEOUT_MS, begin="BEGIN"
            )
        else:
            self._inline = None
            self._row_reader = None
            self._reader = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )

    @property
    def engine(self) -> AsyncEngine:
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[StoreConnection]:
        """A transaction that may write; it commits when the block ends without error."""
        try:
            if self._inline is None:
                async with self._reader.begin() as connection:
                    yield AsyncStoreConnection(connection)
                return
            # One writer at a time in this process; waiting here, not in the
            # connection pool, whose wait would block the loop.
            async with self._inline_lock:
                with self._inline.connect() as sync:
                    await _begin_immediate(sync)
                    try:
                        yield InlineConnection(sync)
                    except BaseException:
                        sync.rollback()
                        raise
                    sync.commit()
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise StoreUnavailableError(str(error).splitlines()[0]) from error

    @asynccontextmanager
    async def read(self) -> AsyncIterator[StoreConnection]:
        try:
            async with self._reader.begin() as connection:
                yield AsyncStoreConnection(connection)
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise StoreUnavailableError(str(error).splitlines()[0]) from error

    async def fetch_rows(self, sql: Sql, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read on a busy path. On SQLite a thread of its own runs it on
        a plain sqlite3 connection, one statement in its own snapshot: through the
        asyncio driver and SQLAlchemy's results the webhook sender's reads cost twice
        the CPU, and run on the event loop they delayed requests (docs/performance.md,
        eighth round). Elsewhere it is an ordinary read."""
        if self._row_reader is None:
            async with self.read() as connection:
                return await connection.fetch(sql, parameters)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._row_thread, self._fetch_rows_now, sql.sqlite, tuple(parameters)
            )
        except sqlite3.Error as error:
            raise StoreUnavailableError(str(error).splitlines()[0]) from error

    def _fetch_rows_now(self, statement: str, parameters: tuple[Any, ...]) -> list[Any]:
        assert self._row_reader is not None
        with self._row_reader.connect() as sync:  # only ever on self._row_thread
            driver: Any = sync.connection.driver_connection
            rows: list[Any] = driver.execute(statement, parameters).fetchall()
            return rows

    async def ping(self) -> None:
        async with self.read() as connection:
            await connection.execute(sa.text("SELECT 1"))

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        return self._checkpointer

    async def close(self) -> None:
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.stop)
            self._checkpointer = None
        await self._reader.dispose()
        if self._row_reader is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._row_thread, self._row_reader.dispose
            )
            self._row_thread.shutdown()
        if self._inline is not None:
            self._inline.dispose()


_BEGIN_IMMEDIATE = Sql("BEGIN IMMEDIATE")


async def _begin_immediate(connection: sa.Connection) -> None:
    """Take SQLite's write lock; while another process holds it, wait with asyncio
    (up to BUSY_TIMEOUT_MS) instead of in SQLite's busy handler, which would block.

    The two processes of a node write all the time, each for a few milliseconds, so
    the lock is tried again every millisecond. A try goes straight to the driver: 1.6 µs
    when it fails, against 23 µs through SQLAlchemy, which wraps each failure. Pauses that
    grew to 20 ms, and a flock(2) queue whose waiter held the lock until its busy loop
    came round to it, both cost a third of the end-to-end rate (docs/performance.md)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = LOCK_RETRY_FIRST
    driver: Any = connection.connection.driver_connection
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise _wrapped(_BEGIN_IMMEDIATE, error) from error
        else:
            connection.begin()  # SQLAlchemy's record of the transaction just opened
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, LOCK_RETRY_MAX)


def _configure_sqlite(
    engine: sa.Engine, *, busy_timeout_ms: int, begin: str | None, auto_checkpoint: bool = True
) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are opened by our own BEGIN, not by the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not auto_checkpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine, "begin")
        def on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)
