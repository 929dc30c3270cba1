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
from chatti.dispatch.backlog import POLL_SECONDS, BacklogGate, Change
from chatti.dispatch.worker import Dispatcher
from chatti.store import sending
from chatti.store.engine import Store
from chatti.store.group_commit import GroupCommitter
from chatti.store.queries import now_us

log = logging.getLogger(__name__)

STOP_DEADLINE_SECONDS = 10.0  # in-flight submits get this long to be answered at a stop


class Sender:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._node_id = settings.node_id
        self._store = store
        # Submits and receipts are recorded by one group commit (sending.stage_outcomes).
        self._outcomes: GroupCommitter[sending.Outcome, None] = GroupCommitter(
            store, sending.stage_outcomes, name="sender group commit"
        )
        self.intake = ReceiptIntake(self._outcomes)
        # A helper process (not the first) binds only for a backlog, when so configured.
        helper = settings.sender_index > 0 and settings.helper_backlog > 0
        self._gate = (
            BacklogGate(settings.helper_backlog, settings.helper_linger_seconds) if helper else None
        )
        self.pool = CarrierPool(
            store,
            self.intake,
            processes=settings.sender_processes,
            index=settings.sender_index,
            parked=helper,
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
        if self._gate is not None:
            log.info(
                "helper sender process: binds while %d or more messages are due", self._gate.backlog
            )
            self._tasks.append(
                asyncio.create_task(self._follow_backlog(self._gate), name="backlog gate")
            )

    async def _follow_backlog(self, gate: BacklogGate) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.pool.holds_binds:
                continue  # the carriers' binds leave none to this process
            try:
                due = await sending.count_due(self._store, now_us(), gate.backlog)
                change = gate.observe(due, loop.time())
                if change is Change.BIND:
                    log.info("%d or more messages due: binding to help send them", due)
                    await self.pool.resume()
                    await self.wait_bound(5.0)
                    self.dispatcher.resume()
                elif change is Change.UNBIND:
                    log.info(
                        "fewer than %d messages due for %.0fs: unbinding",
                        gate.backlog,
                        gate.linger_seconds,
                    )
                    await self.dispatcher.pause()
                    await self.pool.park()
            except Exception:
                log.exception("backlog check failed; binds stay as they are")

    def wake(self) -> None:
        """Messages were just committed: the dispatcher looks at once (unless this is a
        parked helper, which could not send them)."""
        if not self.pool.parked and self.pool.holds_binds:
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
        followers = self._tasks[1:]  # the carrier sync and the backlog gate
        for task in followers:
            task.cancel()
        if self._tasks:
            await finish_within(self._tasks[0], STOP_DEADLINE_SECONDS)
        for task in followers:
            with suppress(asyncio.CancelledError):
                await task
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
