"""Opening the database: one code path, two engines.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, so a commit is on
disk before it returns, even across a power cut; writes go through one connection,
which starts its transactions with BEGIN IMMEDIATE (SQLite has a single writer: taking
the lock up front means a transaction never fails half way on a busy database).
Reads use a small pool of their own. PostgreSQL, for several nodes, uses asyncpg with
one pool for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from chatti.store.errors import StoreUnavailableError

BUSY_TIMEOUT_MS = 10_000  # how long a reader or a second process waits for SQLite's lock


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

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._writer = create_async_engine(self.url, pool_size=1, max_overflow=0)
            self._reader = create_async_engine(self.url, pool_size=4, max_overflow=0)
            _configure_sqlite(self._writer, begin="BEGIN IMMEDIATE")
            _configure_sqlite(self._reader, begin="BEGIN")
        else:
            self._writer = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self._reader = self._writer

    @property
    def engine(self) -> AsyncEngine:
        return self._writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write; it commits when the block ends without error."""
        try:
            async with self._writer.begin() as connection:
                yield connection
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise StoreUnavailableError(str(error).splitlines()[0]) from error

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._reader.begin() as connection:
                yield connection
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise StoreUnavailableError(str(error).splitlines()[0]) from error

    async def ping(self) -> None:
        async with self.read() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()


def _configure_sqlite(engine: AsyncEngine, *, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the sqlite3 module, open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)
