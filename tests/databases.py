"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per test.

PostgreSQL is reached through CHATTI_TEST_POSTGRES_URL, a URL whose user may create
databases (.ci/run starts a server and sets it). Without it the PostgreSQL cases are
skipped on a developer machine and fail in CI (CI=true), where they must run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ENGINES = ["sqlite", "postgresql"]


def postgres_admin_url() -> str:
    url = os.environ.get("CHATTI_TEST_POSTGRES_URL")
    if url:
        return url
    reason = "CHATTI_TEST_POSTGRES_URL is not set: no PostgreSQL to test against"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(reason)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_postgres_database() -> str:
    """A new, empty database; returns its URL."""
    admin = postgres_admin_url()
    name = "chatti_test_" + secrets.token_hex(6)
    connection = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(_asyncpg_dsn(postgres_admin_url()))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty database, dropped afterwards."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@asynccontextmanager
async def fresh_database(engine: str, directory: Path) -> AsyncIterator[str]:
    """A new, empty database of the given engine: a SQLite file in `directory`, or a
    PostgreSQL database dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / 'chatti.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@contextmanager
def database_url_for(engine: str, directory: Path) -> Iterator[str]:
    """A fresh database of the given engine, for code that runs its own event loop."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / 'chatti.db'}"
        return
    url = asyncio.run(create_postgres_database())
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))
