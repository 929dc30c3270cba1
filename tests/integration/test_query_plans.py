"""The statements run for every message must find their rows through an index and
never sort a whole backlog: their cost must not grow with the tables. A receipt lookup
that scanned every segment ever sent, and a webhook claim that sorted every pending
event, each once cost a third of the end-to-end rate before this test existed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from chatti.store import outbox, sending
from chatti.store.engine import Sql, Store
from chatti.store.migrate import upgrade
from chatti.store.tables import messages

pytestmark = pytest.mark.asyncio


async def _plan(store: Store, sql: Sql, parameters: tuple[object, ...]) -> str:
    async with store.write() as connection:
        rows = await connection.fetch(Sql("EXPLAIN QUERY PLAN " + sql.sqlite), parameters)
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("name", "sql", "parameters"),
    [
        ("message claim", sending._CLAIM, ("node", 1, 2, 2, 500)),
        ("webhook claim", outbox._CLAIM, ("node", 1, 2, 2, 200)),
        (
            "receipt lookup",
            sending.receipt_lookup({"acme": {"1a", "1b"}, "other": {"7"}})[0],
            sending.receipt_lookup({"acme": {"1a", "1b"}, "other": {"7"}})[1],
        ),
    ],
)
async def test_hot_statements_search_an_index_and_sort_nothing(
    tmp_path: Path, name: str, sql: Sql, parameters: tuple[object, ...]
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'chatti.db'}")
    try:
        await upgrade(store)
        plan = await _plan(store, sql, parameters)
    finally:
        await store.close()
    assert "SEARCH" in plan, f"{name}: {plan}"
    for line in plan.splitlines():
        assert not line.startswith("SCAN"), f"{name} scans a table: {plan}"
    assert "TEMP B-TREE" not in plan, f"{name} sorts: {plan}"


async def test_the_claim_and_the_sweeps_read_only_the_messages_still_moving(
    tmp_path: Path,
) -> None:
    """The claim, the hand-back of claims and the expiry sweep go through the partial
    indexes of accepted and submitted messages (migration 0006), not through every
    message ever sent: they name their status as a literal."""
    store = Store(f"sqlite:///{tmp_path / 'chatti.db'}")
    try:
        await upgrade(store)
        release = (
            sa.update(messages)
            .where(messages.c.claimed_by == "node", sending._IS_ACCEPTED)
            .values(claimed_by=None)
        )
        plans = {
            "claim": await _plan(store, sending._CLAIM, ("node", 1, 2, 2, 500)),
            "release": await _statement_plan(store, release),
            "expiry": await _statement_plan(store, sending.overdue_query(10**16, 3600, 1000)),
        }
    finally:
        await store.close()
    assert "ix_messages_due" in plans["claim"], plans
    assert "ix_messages_due" in plans["release"], plans
    assert "ix_messages_awaiting_receipt" in plans["expiry"], plans


async def _statement_plan(store: Store, statement: sa.ClauseElement) -> str:
    compiled = statement.compile(dialect=sqlite.dialect())
    assert isinstance(compiled, SQLCompiler)
    parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
    return await _plan(store, Sql(compiled.string), parameters)
