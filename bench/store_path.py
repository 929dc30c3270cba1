"""The store's share of sending, without HTTP or SMPP: CPU per message of each step.

    python bench/store_path.py [--messages 50000] [--database-url URL]

On a fresh SQLite file (or the given database) it accepts messages in groups of
1,000; claims them 500 at a time, recording each batch's submits in groups of 250
before the next claim (as the sender's group commit does under load); records their
receipts in groups of 250; then claims and marks delivered their webhook events 1,000
at a time. It prints the CPU time of each step per message:
a steadier figure than `chatti bench`'s end-to-end rate for comparing schema and
statement changes, since nothing else shares the process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from chatti.store import ids, outbox, queries, sending
from chatti.store.engine import Store, sqlite_url
from chatti.store.migrate import upgrade
from chatti.store.models import MessageStatus, NewMessage, Route
from chatti.store.queries import now_us

GROUP = 250


def new_message(number: int) -> NewMessage:
    return NewMessage(
        ids.new_ulid(), f"+491511{number:07d}", "DE", "Chatti", f"code {number}", "gsm7", 1
    )


async def timed(label: str, count: int, step: Callable[[], Awaitable[None]]) -> float:
    started = time.process_time()
    await step()
    spent = time.process_time() - started
    if label:
        print(f"  {label:<22} {spent * 1e6 / count:7.1f} µs per message")
    return spent


async def measure(store: Store, count: int) -> None:
    account, _ = await queries.create_account(
        store, "bench", callback_url="http://127.0.0.1:9/hook", webhook_batch_max=1000
    )
    await queries.replace_routes(store, [Route("*", ("sim",))])
    claimed: list[sending.Claimed] = []

    async def accept() -> None:
        for start in range(0, count, 1000):
            batch = [new_message(n) for n in range(start, min(count, start + 1000))]
            async with store.write() as connection:
                await queries.insert_accepted(connection, [(account.id, batch, None)], now_us())

    batch: list[sending.Claimed] = []

    async def claim() -> None:
        batch[:] = await sending.claim_messages(store, "bench", 500, 120, now_us())
        claimed.extend(batch)

    async def submit() -> None:
        for start in range(0, len(batch), GROUP):
            results = [
                sending.Submission(
                    m.id, "sim", (sending.SubmittedSegment(1, f"c{m.id}", now_us()),), True
                )
                for m in batch[start : start + GROUP]
            ]
            statements = sending.stage_outcomes(results)  # as the sender's group commit
            async with store.write() as connection:
                await statements(connection)

    async def receipts() -> None:
        for start in range(0, len(claimed), GROUP):
            updates = [
                sending.ReceiptUpdate("sim", (f"c{m.id}",), MessageStatus.DELIVERED, None, now_us())
                for m in claimed[start : start + GROUP]
            ]
            statements = sending.stage_outcomes(updates)  # as the sender's group commit
            async with store.write() as connection:
                await statements(connection)

    async def webhooks() -> None:
        while pending := await outbox.claim_webhooks(store, "bench", 1000, 60, now_us()):
            attempt = outbox.WebhookAttempt(
                "http://127.0.0.1:9/hook",
                tuple(event.id for event in pending),
                now_us(),
                200,
                None,
                1,
                True,
                None,
            )
            await outbox.record_webhook_attempts(store, [attempt])

    await timed("accept", count, accept)
    claiming = submitting = 0.0
    while len(claimed) < count:
        claiming += await timed("", count, claim)
        submitting += await timed("", count, submit)
    print(f"  {'claim':<22} {claiming * 1e6 / count:7.1f} µs per message")
    print(f"  {'record submits':<22} {submitting * 1e6 / count:7.1f} µs per message")
    await timed("record receipts", count, receipts)
    await timed("webhooks (2 a message)", count, webhooks)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="chatti-store-bench-") as directory:
        store = Store(args.database_url or sqlite_url(Path(directory) / "chatti.db"))
        try:
            await upgrade(store)
            print(f"store path, {args.messages:,} messages, {store.dialect}")
            await measure(store, args.messages)
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
