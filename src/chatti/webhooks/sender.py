"""The webhook sender: claims due events from the outbox, groups those for one URL into
one POST (a JSON list, up to the account's `webhook_batch_max`), signs and sends them
through one shared httpx client, and records every attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from chatti.store import outbox
from chatti.store.engine import Store
from chatti.store.queries import now_us
from chatti.webhooks import signing
from chatti.webhooks.retry import WebhookRetry

log = logging.getLogger(__name__)

# A full round whose POSTs have not all answered by then is left to finish while the
# next round is claimed: a receiver slower than this would otherwise cap a URL at one
# round (claim_size events) per round trip. A fast receiver never waits this long, so
# its rounds stay one at a time, large (docs/performance.md, eighth round).
OVERLAP_AFTER_SECONDS = 0.05
MAX_OVERLAPPING_ROUNDS = 8
# While full rounds bring events that waited longer than BACKLOG_LAG_SECONDS (a batch's
# backlog), claims grow to BACKLOG_CLAIM_FACTOR times claim_size: each round costs a
# commit under SQLite's write lock, which the senders wait for too. Single-message
# traffic fills rounds as well, but its events wait about a round (0.1 s): it keeps the
# small claims, which hold the API's loop for less time (docs/performance.md, ninth round).
BACKLOG_LAG_SECONDS = 0.5
BACKLOG_CLAIM_FACTOR = 4


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    # Events claimed (and their JSON built) at a time. Claims of 250 take a few
    # milliseconds of the API's loop, so single-message requests wait less behind them
    # (p99 42 against 44 - 51 ms for 1000) at no measurable cost to batch rates.
    claim_size: int = 250
    concurrency: int = 32  # POSTs in flight
    timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    idle_poll_seconds: float = 0.5
    retry: WebhookRetry = field(default_factory=WebhookRetry)


class WebhookSender:
    def __init__(self, store: Store, node: str, settings: WebhookSettings) -> None:
        self._store = store
        self._node = node
        self._settings = settings
        self._client = httpx.AsyncClient(timeout=settings.timeout_seconds, follow_redirects=False)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self.delivered = 0
        self.failed_attempts = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        posted: list[outbox.WebhookAttempt] = []  # recorded with the next claim
        # Rounds still waiting for their answers while later ones were claimed: only for a
        # backlog (a full round) at a slow receiver (no answer within OVERLAP_AFTER_SECONDS).
        overlapping: set[asyncio.Future[list[outbox.WebhookAttempt]]] = set()
        size = self._settings.claim_size
        while not self._stopping.is_set():
            posted += _answered(overlapping)
            try:
                due = await outbox.claim_webhooks(
                    self._store,
                    self._node,
                    size,
                    self._settings.lease_seconds,
                    now_us(),
                    settle=posted,
                )
                posted = []
                full = len(due) == size
                size = self._settings.claim_size * (
                    BACKLOG_CLAIM_FACTOR if full and _waited(due) > BACKLOG_LAG_SECONDS else 1
                )
                if due:
                    round_ = asyncio.gather(*(self._post(group) for group in _group(due)))
                    if full and len(overlapping) < MAX_OVERLAPPING_ROUNDS:
                        answered, _ = await asyncio.wait([round_], timeout=OVERLAP_AFTER_SECONDS)
                        if not answered:
                            overlapping.add(round_)
                            continue
                    posted = await round_
                    continue
            except Exception:
                log.exception("webhook round failed; its claims return when their lease ends")
                posted = []
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    _woken_or_answered(self._wakeup, overlapping),
                    self._settings.idle_poll_seconds,
                )
        if overlapping:
            await asyncio.wait(overlapping)
            posted += _answered(overlapping)
        if posted:
            await outbox.record_webhook_attempts(self._store, posted)

    async def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def close(self) -> None:
        await self._client.aclose()

    async def _post(self, group: Sequence[outbox.PendingWebhook]) -> outbox.WebhookAttempt:
        first = group[0]
        body = orjson.dumps([event.payload for event in group])
        headers = signing.headers(first.secret, int(time.time()), body)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        async with self._slots:
            try:
                reply = await self._client.post(first.url, content=body, headers=headers)
                status = reply.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"[:500]
        attempted_at = now_us()
        duration = int((time.perf_counter() - started) * 1000)
        ids = tuple(event.id for event in group)
        if error is None:
            self.delivered += len(group)
            return outbox.WebhookAttempt(
                first.url, ids, attempted_at, status, None, duration, True, None
            )
        self.failed_attempts += 1
        retry_at = self._settings.retry.next_attempt(
            max(event.attempts for event in group) + 1,
            min(event.created_at for event in group),
            attempted_at,
        )
        log.info(
            "webhook %s (%d events): %s; %s",
            first.url,
            len(group),
            error,
            "giving up" if retry_at is None else "will retry",
        )
        return outbox.WebhookAttempt(
            first.url, ids, attempted_at, status, error, duration, False, retry_at
        )


def _waited(due: Sequence[outbox.PendingWebhook]) -> float:
    """Seconds the oldest event of a round waited since it was written."""
    return (now_us() - min(event.created_at for event in due)) / 1_000_000


def _answered(
    rounds: set[asyncio.Future[list[outbox.WebhookAttempt]]],
) -> list[outbox.WebhookAttempt]:
    """Take the finished rounds out of `rounds`: their attempts, to be recorded."""
    attempts: list[outbox.WebhookAttempt] = []
    for round_ in [round_ for round_ in rounds if round_.done()]:
        rounds.discard(round_)
        if round_.exception() is not None:
            log.error(
                "webhook round failed: %r; its claims return when their lease ends",
                round_.exception(),
            )
            continue
        attempts += round_.result()
    return attempts


async def _woken_or_answered(
    wakeup: asyncio.Event, rounds: set[asyncio.Future[list[outbox.WebhookAttempt]]]
) -> None:
    """Return on a wake-up or once one of `rounds` has its answers (rounds go on)."""
    woken = asyncio.ensure_future(wakeup.wait())
    waiting: list[asyncio.Future[Any]] = [woken, *rounds]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        woken.cancel()


def _group(due: Sequence[outbox.PendingWebhook]) -> list[list[outbox.PendingWebhook]]:
    """Events for one account and URL, in outbox order, cut to the account's batch size."""
    by_target: dict[tuple[str, str], list[outbox.PendingWebhook]] = {}
    for event in due:
        by_target.setdefault((event.account_id, event.url), []).append(event)
    groups: list[list[outbox.PendingWebhook]] = []
    for events in by_target.values():
        size = max(1, events[0].batch_max)
        groups.extend(events[start : start + size] for start in range(0, len(events), size))
    return groups
