"""The dispatcher: claim accepted messages, route, submit, record. The loop only; every
decision is a plain function (routing, retry, health, ratelimit, pdus).

Each worker claims a batch (a lease, so a crashed node's claims come back), submits
its messages concurrently, each bind keeping its own window, and records every outcome
in one transaction. Stopping means: claim no more, let the batch in hand finish (its
submits answer or time out), record it, hand back what is still claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from chatti.carriers.pool import CarrierPool, LiveCarrier
from chatti.dispatch import retry
from chatti.dispatch.pdus import submit_pdus
from chatti.dispatch.routing import carriers_for
from chatti.smpp.connection import OutcomeKind
from chatti.store import queries, sending
from chatti.store.engine import Store
from chatti.store.group_commit import GroupCommitter
from chatti.store.models import Route
from chatti.store.queries import now_us
from chatti.store.sending import Claimed

log = logging.getLogger(__name__)


NO_CARRIER_RECHECK_US = 1_000_000
MAX_WAIT_RECHECK_US = 10_000_000


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    batch_size: int = 500
    workers: int = 2
    lease_seconds: float = 120.0  # longer than the slowest batch: response timeout and more
    idle_poll_seconds: float = 0.5  # how often an idle worker looks for due retries
    # After a wake-up, wait this long before claiming, so that messages accepted one by
    # one are claimed by the dozen rather than one transaction each.
    gather_seconds: float = 0.05
    routes_refresh_seconds: float = 2.0
    expiry_sweep_seconds: float = 5.0
    default_validity_seconds: int = 48 * 3600  # how long a submitted message waits for its receipt


class Dispatcher:
    def __init__(
        self,
        store: Store,
        pool: CarrierPool,
        node: str,
        settings: DispatchSettings,
        recorder: GroupCommitter[sending.Outcome, None],
    ) -> None:
        self._store = store
        self._pool = pool
        self._node = node
        self._settings = settings
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._paused = False
        self._in_hand = 0  # batches claimed and not yet recorded
        self._empty_handed = asyncio.Event()
        self._empty_handed.set()
        self._routes: list[Route] = []
        self._recorder = recorder  # shared with receipt intake: one commit for both
        self._routes_loaded = 0.0
        self.submitted = 0
        self.retried = 0
        self.failed = 0

    def wake(self) -> None:
        """New messages were accepted: look now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for number in range(self._settings.workers):
                tasks.create_task(self._work(), name=f"dispatch worker {number}")
            tasks.create_task(self._sweep_expired(), name="expiry sweeper")

    async def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def pause(self) -> None:
        """Claim nothing more and return once the batches in hand are recorded (before
        the binds close, so that none of them is cut off)."""
        self._paused = True
        await self._empty_handed.wait()

    def resume(self) -> None:
        self._paused = False
        self._wakeup.set()

    async def release(self) -> None:
        released = await sending.release_claims(self._store, self._node)
        if released:
            log.info("handed back %d claimed messages", released)

    async def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self._one_batch()
            except Exception:
                log.exception("dispatch batch failed; its claims return when their lease ends")
                busy = False
            if not busy:
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self._settings.idle_poll_seconds)
                except TimeoutError:
                    continue
                await asyncio.sleep(self._settings.gather_seconds)

    async def _one_batch(self) -> bool:
        """Claim, send and record one batch; True when the batch was full (more wait)."""
        if self._paused or not self._pool.any_bound:
            return False  # nothing could leave: leave the backlog untouched on disk
        self._in_hand += 1
        self._empty_handed.clear()
        try:
            return await self._claim_and_send()
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._empty_handed.set()

    async def _claim_and_send(self) -> bool:
        settings = self._settings
        batch = await sending.claim_messages(
            self._store, self._node, settings.batch_size, settings.lease_seconds, now_us()
        )
        if not batch:
            return False
        full = len(batch) == settings.batch_size
        routes = await self._current_routes()
        retried = [m.id for m in batch if m.attempts > 1]
        done_parts = await sending.submitted_parts(self._store, retried)
        results = await self._send_all(batch, routes, done_parts)
        for result in results:
            if result.complete:
                self.submitted += 1
            elif result.failed:
                self.failed += 1
            else:
                self.retried += 1
        return full

    async def _send_all(
        self, batch: Sequence[Claimed], routes: Sequence[Route], done_parts: dict[str, set[int]]
    ) -> list[sending.Submission]:
        """Send a batch through as many lanes as the bound carriers have window slots.

        Each outcome goes to the group commit as soon as it is known (a receipt can
        follow its submit_sm_resp within milliseconds and must find the part recorded);
        the batch is done when every outcome is committed. A lane per window slot, not
        a task per message: messages beyond the window would only queue for a slot."""
        messages = iter(batch)
        results: list[sending.Submission] = []
        recorded: list[asyncio.Future[None]] = []
        none: set[int] = set()

        async def lane() -> None:
            for message in messages:
                result = await self._send(message, routes, done_parts.get(message.id, none))
                results.append(result)
                recorded.append(self._recorder.enqueue(result))

        lanes = min(len(batch), max(1, self._pool.window_slots))
        await asyncio.gather(*(lane() for _ in range(lanes)))
        for outcome in await asyncio.gather(*recorded, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome  # those not recorded come back when their lease ends
        return results

    async def _current_routes(self) -> list[Route]:
        if time.monotonic() - self._routes_loaded > self._settings.routes_refresh_seconds:
            self._routes = await queries.list_routes(self._store)
            self._routes_loaded = time.monotonic()
        return self._routes

    async def _send(
        self, message: Claimed, routes: Sequence[Route], done_parts: set[int]
    ) -> sending.Submission:
        names = carriers_for(routes, message.to_number, message.country)
        if not names:
            return self._waiting(message, "no route for this number", MAX_WAIT_RECHECK_US)
        now = asyncio.get_running_loop().time()
        bound = [live for name in names if (live := self._pool.get(name)) and live.binds.is_bound]
        healthy = [live for live in bound if live.health.usable(True, now)]
        # A resting carrier is passed over only while another one can take the message.
        for live in healthy or bound:
            result = await self._submit_parts(message, live, done_parts)
            if result is not None:
                return result
        return self._waiting(message, "no carrier of the route is bound", NO_CARRIER_RECHECK_US)

    async def _submit_parts(
        self, message: Claimed, live: LiveCarrier, done_parts: set[int]
    ) -> sending.Submission | None:
        """Submit the parts not yet accepted; None when the bind went away before any
        part left, so the next carrier of the route can take the message."""
        loop = asyncio.get_running_loop()
        name = live.carrier.name
        sent: list[sending.SubmittedSegment] = []
        pdus = submit_pdus(message, zlib.crc32(message.id.encode()) & 0xFF)
        for number, pdu in enumerate(pdus, start=1):
            if number in done_parts:
                continue
            delay = live.bucket.take(loop.time())
            if delay:
                await asyncio.sleep(delay)
            outcome = await live.binds.request(pdu)
            if outcome.ok and outcome.response is not None:
                live.health.record_success()
                carrier_id: str = getattr(outcome.response, "message_id", "")
                sent.append(sending.SubmittedSegment(number, carrier_id, now_us()))
                continue
            if outcome.kind is OutcomeKind.NOT_BOUND and not sent:
                return None
            if outcome.kind in (OutcomeKind.ERROR, OutcomeKind.TIMEOUT):
                # a lost bind is the bind's business; this counts a carrier that is
                # there but refuses or ignores what it is sent
                live.health.record_failure(loop.time())
            decision = retry.decide(message.attempts, outcome.command_status, now_us())
            error = f"{name}: {outcome.describe()}"
            log.info("message %s part %d: %s", message.id, number, error)
            if isinstance(decision, retry.GiveUp):
                return sending.Submission(
                    message.id,
                    name,
                    tuple(sent),
                    False,
                    failed=decision.reason,
                    error=error,
                    webhook=message.webhook,
                )
            return self._later(message, name, error, tuple(sent), outcome.may_have_been_delivered)
        return sending.Submission(
            message.id, name, tuple(sent), complete=True, webhook=message.webhook
        )

    def _later(
        self,
        message: Claimed,
        carrier: str | None,
        error: str,
        sent: tuple[sending.SubmittedSegment, ...],
        unknown: bool,
    ) -> sending.Submission:
        when = now_us() + retry.backoff(message.attempts)
        return sending.Submission(
            message.id, carrier, sent, False, retry_at=when, error=error, unknown_outcome=unknown
        )

    def _waiting(self, message: Claimed, why: str, first_recheck: int) -> sending.Submission:
        """Nothing was sent: the message waits (never fails) and is looked at again after
        one second, doubling up to ten, so it leaves within seconds of a carrier's return
        without a long outage costing a write per message per second."""
        delay = min(MAX_WAIT_RECHECK_US, first_recheck * 2 ** max(0, message.attempts - 1))
        return sending.Submission(message.id, None, (), False, retry_at=now_us() + delay, error=why)

    async def _sweep_expired(self) -> None:
        while not self._stopping.is_set():
            try:
                settled = await sending.apply_waiting_receipts(self._store, now_us())
                if settled:
                    log.info(
                        "%d receipts that came before their submit was recorded applied", settled
                    )
                expired = await sending.expire_overdue(
                    self._store, now_us(), self._settings.default_validity_seconds
                )
                if expired:
                    log.info("%d messages expired without a receipt", expired)
            except Exception:
                log.exception("expiry sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.expiry_sweep_seconds)
