"""The carrier side of a node: the binds, the dispatcher and receipt intake, over the
node's store. It runs inside the API's process, or in a process of its own
(sender_process.py) so that the node uses a second core.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from chatti.carriers.intake import ReceiptIntake
from chatti.carriers.pool import CarrierPool
from chatti.config import Settings
from chatti.dispatch.worker import Dispatcher
from chatti.store import sending
from chatti.store.engine import Store
from chatti.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

STOP_DEADLINE_SECONDS = 10.0  # in-flight submits get this long to be answered at a stop


class Sender:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._node_id = settings.node_id
        self._store = store
        # Submits and receipts are recorded by one group commit (sending.record_outcomes).
        self._outcomes: GroupCommitter[sending.Outcome, None] = GroupCommitter(
            store, sending.record_outcomes, name="sender group commit"
        )
        self.intake = ReceiptIntake(self._outcomes)
        self.pool = CarrierPool(
            store, self.intake, processes=settings.sender_processes, index=settings.sender_index
        )
        self.dispatcher = Dispatcher(
            store, self.pool, settings.node_id, settings.dispatch, self._outcomes
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        recovered = await sending.recover_claims(self._store, self._node_id)
        if recovered:
            log.warning(
                "%d messages were claimed by this node when it stopped without a goodbye;"
                " they go out again, flagged as possible duplicates",
                recovered,
            )
        await self.pool.sync()
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(self.pool.run(), name="carrier sync"),
        ]

    def wake(self) -> None:
        """Messages were just committed: the dispatcher looks at once."""
        self.dispatcher.wake()

    @property
    def any_bound(self) -> bool:
        return self.pool.any_bound

    async def wait_bound(self, timeout: float) -> bool:
        """Wait until some carrier is bound, up to `timeout`."""
        waiters = [
            asyncio.create_task(client.wait_bound(timeout))
            for live in self.pool.live.values()
            for client in live.binds.clients
        ]
        if waiters:
            _done, pending = await asyncio.wait(
                waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
        return self.any_bound

    def carrier_status(self) -> dict[str, dict[str, object]]:
        return self.pool.status()

    async def stop(self) -> None:
        """Claim nothing more, let in-flight submits finish (up to a deadline), hand
        back what is still claimed, unbind."""
        await self.dispatcher.stop()
        dispatcher, sync = self._tasks or (None, None)
        if sync is not None:
            sync.cancel()
        if dispatcher is not None:
            await finish_within(dispatcher, STOP_DEADLINE_SECONDS)
        if sync is not None:
            with suppress(asyncio.CancelledError):
                await sync
        await self.pool.close()  # unbound: no receipt comes any more
        await self._outcomes.close()  # every submit and receipt recorded
        await self.dispatcher.release()


async def finish_within(task: asyncio.Task[None], seconds: float) -> None:
    """Let a task that was asked to stop finish; cancel it after `seconds`."""
    _done, pending = await asyncio.wait([task], timeout=seconds)
    if pending:
        log.warning("%s did not finish within %.0fs; cancelling", task.get_name(), seconds)
        task.cancel()
    with suppress(asyncio.CancelledError):
        await task
