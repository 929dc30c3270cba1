"""`Sql`: the hand-written statements of the busiest paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from chatti.store.engine import Sql, Store, placeholders
from chatti.store.errors import StoreUnavailableError


def test_postgresql_form_numbers_the_parameters_in_order() -> None:
    sql = Sql("UPDATE t SET a = ?, b = ? WHERE id IN (?, ?)")
    assert sql.postgresql == "UPDATE t SET a = $1, b = $2 WHERE id IN ($3, $4)"
    assert sql.text("sqlite") == sql.sqlite
    assert sql.text("postgresql") == sql.postgresql


def test_claims_skip_locked_rows_on_postgresql_only() -> None:
    sql = Sql.claiming("SELECT id FROM t WHERE due <= ? LIMIT ? {lock}")
    assert sql.sqlite.strip() == "SELECT id FROM t WHERE due <= ? LIMIT ?"
    assert sql.postgresql == "SELECT id FROM t WHERE due <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED"


def test_placeholders() -> None:
    assert placeholders(3) == "?, ?, ?"


@pytest.mark.asyncio
async def test_driver_errors_surface_as_sqlalchemys(tmp_path: Path) -> None:
    """Callers catch one family of errors whichever way a statement ran."""
    store = Store(f"sqlite:///{tmp_path / 'chatti.db'}")
    try:
        async with store.write() as connection:
            await connection.run_many(Sql("CREATE TABLE t (id INTEGER PRIMARY KEY)"), [()])
        with pytest.raises(sa.exc.IntegrityError):
            async with store.write() as connection:
                await connection.run_many(Sql("INSERT INTO t VALUES (?)"), [(1,), (1,)])
        async with store.write() as connection:  # the failed transaction left nothing
            assert await connection.fetch(Sql("SELECT count(*) FROM t")) == [(0,)]
        with pytest.raises(StoreUnavailableError):  # OperationalError, as through SQLAlchemy
            async with store.write() as connection:
                await connection.fetch(Sql("SELECT * FROM missing"))
    finally:
        await store.close()
