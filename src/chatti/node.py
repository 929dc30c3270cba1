"""One Chatti node: the store, the accept queue, the carrier binds, the dispatcher, the
webhook sender and, when no carrier is configured, a simulated carrier. The API's
lifespan starts and stops it; every background task has this node as its owner.
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import suppress

from chatti.carriers.intake import ReceiptIntake
from chatti.carriers.pool import CarrierPool
from chatti.config import Settings
from chatti.dispatch.worker import Dispatcher
from chatti.simulator import Simulator, SimulatorConfig
from chatti.store import queries, sending
from chatti.store.engine import Store
from chatti.store.group_commit import AcceptQueue
from chatti.store.migrate import upgrade
from chatti.store.models import Carrier, Route
from chatti.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

DEMO_KEY_FILE = "demo-api-key"
SIMULATOR = "simulator"
STOP_DEADLINE_SECONDS = 10.0  # in-flight submits get this long to be answered at a stop


class Node:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.database_url)
        self.accepts = AcceptQueue(self.store)
        self.intake = ReceiptIntake(self.store)
        self.pool = CarrierPool(self.store, self.intake)
        self.dispatcher = Dispatcher(self.store, self.pool, settings.node_id, settings.dispatch)
        self.webhooks = WebhookSender(self.store, settings.node_id, settings.webhooks)
        self.simulator: Simulator | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.settings.migrate_on_start:
            await upgrade(self.store)
        await ensure_first_account(self.store, self.settings)
        recovered = await sending.recover_claims(self.store, self.settings.node_id)
        if recovered:
            log.warning(
                "%d messages were claimed by this node when it stopped without a goodbye;"
                " they go out again, flagged as possible duplicates",
                recovered,
            )
        await self._install_carriers()
        await self.pool.sync()
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(self.webhooks.run(), name="webhook sender"),
            asyncio.create_task(self.pool.run(), name="carrier sync"),
        ]

    def accepted(self) -> None:
        """Messages were just committed: the dispatcher looks at once."""
        self.dispatcher.wake()

    async def stop(self) -> None:
        """Claim nothing more, let in-flight submits finish (up to a deadline), hand
        back what is still claimed, unbind, close."""
        await self.dispatcher.stop()
        await self.webhooks.stop()
        dispatcher, webhooks, sync = self._tasks or (None, None, None)
        if sync is not None:
            sync.cancel()
        running = [task for task in (dispatcher, webhooks) if task is not None]
        if running:
            _done, pending = await asyncio.wait(running, timeout=STOP_DEADLINE_SECONDS)
            for task in pending:
                log.warning(
                    "%s did not finish within %.0fs; cancelling",
                    task.get_name(),
                    STOP_DEADLINE_SECONDS,
                )
                task.cancel()
            for task in [*running, *([sync] if sync else [])]:
                with suppress(asyncio.CancelledError):
                    await task
        await self.dispatcher.close()
        await self.dispatcher.release()
        await self.pool.close()
        await self.intake.close()
        await self.accepts.close()
        await self.webhooks.close()
        if self.simulator is not None:
            await self.simulator.stop()
        await self.store.close()

    async def _install_carriers(self) -> None:
        """Carriers and routes of the config file go to the store; with none there nor
        in the store, a simulator is started and routed to."""
        configured = self.settings.carriers
        existing = {carrier.name for carrier in await queries.list_carriers(self.store)}
        for carrier in configured:
            await queries.upsert_carrier(self.store, carrier)
        if self.settings.routes:
            await queries.replace_routes(self.store, self.settings.routes)
        real = ({carrier.name for carrier in configured} | existing) - {SIMULATOR}
        if real:
            if SIMULATOR in existing:
                await queries.delete_carrier(self.store, SIMULATOR)
            return
        if not self.settings.simulator:
            log.warning("no carrier configured: messages will wait until one is added")
            return
        self.simulator = Simulator(
            SimulatorConfig(host="127.0.0.1", port=0, system_id="chatti", password="chatti")
        )
        await self.simulator.start()
        await queries.upsert_carrier(
            self.store,
            Carrier(SIMULATOR, "127.0.0.1", self.simulator.port, "chatti", "chatti", window=100),
        )
        if not self.settings.routes:
            await queries.replace_routes(self.store, [Route("*", (SIMULATOR,))])
        print(
            f"chatti: no carrier configured: a simulated carrier answers on"
            f" 127.0.0.1:{self.simulator.port}",
            flush=True,
        )


async def ensure_first_account(store: Store, settings: Settings) -> None:
    """On a database with no account, create one (an admin) and hand its key over:
    printed once, and written to DATA_DIR/demo-api-key (mode 0600) for scripts."""
    if await queries.count_accounts(store):
        return
    account, key = await queries.create_account(store, "demo", is_admin=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / DEMO_KEY_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    print(f"chatti: created account {account.id} (admin); API key: {key}", flush=True)
    print(f"chatti: the key is also in {path}", flush=True)
