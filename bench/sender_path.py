"""The sender's own cost: CPU per message to submit a backlog and record its receipts.

    python bench/sender_path.py [--messages 50000] [--binds 1]

Accepts N messages straight into a fresh SQLite file (with a callback URL, so webhook
events are queued as in production, but nobody sends them), starts `chatti simulator`
in its own process, then runs the real `Sender` in this process until every message is
delivered. It prints the wall time and this process's CPU time per message. No API
process shares the store, so the figure is the sender's work alone, without waits for
the write lock: a steadier yardstick than `chatti bench` for changes to the submit and
receipt paths.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import uvloop

from chatti import collector
from chatti.bench.ports import free_port
from chatti.bench.processes import start_simulator
from chatti.config import Settings
from chatti.sender import Sender
from chatti.store import ids, queries
from chatti.store.engine import Store, sqlite_url
from chatti.store.migrate import upgrade
from chatti.store.models import Carrier, MessageStatus, NewMessage, Route
from chatti.store.queries import now_us
from chatti.store.tables import messages


async def fill(store: Store, count: int) -> None:
    account, _ = await queries.create_account(
        store, "bench", callback_url="http://127.0.0.1:9/hook", webhook_batch_max=1000
    )
    for start in range(0, count, 1000):
        batch = [
            NewMessage(ids.new_ulid(), f"+491511{n:07d}", "DE", "Chatti", f"code {n}", "gsm7", 1)
            for n in range(start, min(count, start + 1000))
        ]
        async with store.write() as connection:
            await queries.insert_accepted(connection, [(account.id, batch, None)], now_us())


async def delivered(store: Store) -> int:
    async with store.read() as connection:
        return int(
            await connection.scalar(
                sa.select(sa.func.count()).where(messages.c.status == MessageStatus.DELIVERED.value)
            )
        )


async def run(count: int, binds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chatti-sender-path-") as directory:
        data = Path(directory)
        url = sqlite_url(data / "chatti.db")
        store = Store(url)
        await upgrade(store)
        smpp = free_port()
        simulator = start_simulator(smpp, free_port(), "--dlr-delay-ms", "10")
        try:
            await fill(store, count)
            await queries.upsert_carrier(
                store,
                Carrier("sim", "127.0.0.1", smpp, "chatti", "secret", window=100, binds=binds),
            )
            await queries.replace_routes(store, [Route("*", ("sim",))])
            sender = Sender(store, Settings(database_url=url, data_dir=data))
            collector.tune_for_service()  # as in the node's sender process
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            await sender.start()
            sender.wake()
            while sender.intake.received < count:  # noqa: ASYNC110 (counted before their commit)
                await asyncio.sleep(0.02)
            while await delivered(store) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
            await sender.stop()
        finally:
            simulator.terminate()
            simulator.wait()
            await store.close()
    print(
        f"{count:,} messages submitted and delivered in {wall:.2f} s ({count / wall:,.0f}/s);"
        f" sender CPU {cpu:.2f} s, {cpu * 1e6 / count:.0f} µs per message"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--binds", type=int, default=1)
    args = parser.parse_args()
    uvloop.run(run(args.messages, args.binds))


if __name__ == "__main__":
    main()
