"""One Chatti node: the store, the accept queue, the webhook sender, the carrier side
(binds, dispatcher, receipts: in this process, or in one of its own) and, when no
carrier is configured, a simulated carrier. The API's lifespan starts and stops it;
every background task has this node as its owner.
"""

from __future__ import annotations

import asyncio
import logging
import os

from chatti.config import Settings
from chatti.sender import STOP_DEADLINE_SECONDS, Sender, finish_within
from chatti.sender_process import SenderProcess
from chatti.simulator import Simulator, SimulatorConfig
from chatti.store import queries
from chatti.store.checkpoint import WalCheckpoints
from chatti.store.engine import Store
from chatti.store.group_commit import AcceptQueue
from chatti.store.migrate import upgrade
from chatti.store.models import Carrier, Route
from chatti.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

DEMO_KEY_FILE = "demo-api-key"
SIMULATOR = "simulator"


class Node:
    def __init__(self, settings: Settings, *, log_level: str = "info") -> None:
        self.settings = settings
        self.store = Store(settings.database_url, checkpoints=WalCheckpoints.BACKGROUND)
        self.accepts = AcceptQueue(self.store)
        self.carriers: Sender | SenderProcess = (
            SenderProcess(settings, log_level)
            if settings.separate_process
            else Sender(self.store, settings)
        )
        self.webhooks = WebhookSender(self.store, settings.node_id, settings.webhooks)
        self.simulator: Simulator | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.settings.migrate_on_start:
            await upgrade(self.store)
        await ensure_first_account(self.store, self.settings)
        await self._install_carriers()
        await self.carriers.start()
        self._webhook_task = asyncio.create_task(self.webhooks.run(), name="webhook sender")

    def accepted(self) -> None:
        """Messages were just committed: the dispatcher looks at once."""
        self.carriers.wake()

    async def stop(self) -> None:
        """Claim nothing more, let in-flight submits finish (up to a deadline), hand
        back what is still claimed, unbind, close."""
        await self.webhooks.stop()
        await self.carriers.stop()
        if self._webhook_task is not None:
            await finish_within(self._webhook_task, STOP_DEADLINE_SECONDS)
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
        # as many binds as sender processes, so that each can take its share
        simulated = Carrier(
            SIMULATOR,
            "127.0.0.1",
            self.simulator.port,
            "chatti",
            "chatti",
            window=100,
            binds=self.settings.sender_processes,
        )
        await queries.upsert_carrier(self.store, simulated)
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
