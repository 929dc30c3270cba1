"""Group commit: concurrent accepts share one transaction, so one disk flush.

With durable commits every transaction waits for its fsync; one message per request
and per transaction would cap a node at a few hundred messages per second whatever the
CPU. Requests arriving while a commit is in flight wait for the next one, which takes
them all together: no timer, so a lone request pays nothing extra, and under load each
flush carries many messages. A caller is answered only after the commit that holds its
messages has returned.

If a shared transaction fails, each of its requests is retried in a transaction of its
own, so one bad request never fails another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from chatti.store import queries
from chatti.store.engine import Store
from chatti.store.errors import IdempotencyConflictError, StoreError, StoreUnavailableError
from chatti.store.models import Idempotency, NewMessage, StoredResponse

log = logging.getLogger(__name__)

MAX_GROUP_MESSAGES = 20_000  # bounds one transaction's size and the time its lock is held


@dataclass(slots=True)
class _Pending:
    account_id: str
    messages: Sequence[NewMessage]
    idempotency: Idempotency | None
    answer: asyncio.Future[StoredResponse | None]


Outcome = StoredResponse | None | BaseException


class AcceptQueue:
    def __init__(self, store: Store, max_group_messages: int = MAX_GROUP_MESSAGES) -> None:
        self._store = store
        self._max = max_group_messages
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.groups = 0  # transactions committed, for metrics and tests
        self.requests = 0

    async def accept(
        self,
        account_id: str,
        messages: Sequence[NewMessage],
        idempotency: Idempotency | None = None,
    ) -> StoredResponse | None:
        """Same contract as queries.accept_messages: None once committed now, the stored
        answer for a repeated idempotency key, IdempotencyConflictError for a reused one."""
        if self._closing:
            raise StoreUnavailableError("the node is shutting down")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group commit")
        answer: asyncio.Future[StoredResponse | None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(account_id, messages, idempotency, answer))
        self._wakeup.set()
        return await answer

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                group = self._take_group()
                await self._commit(group)
            if self._closing:
                return

    def _take_group(self) -> list[_Pending]:
        group: list[_Pending] = []
        size = 0
        while self._pending and (not group or size + len(self._pending[0].messages) <= self._max):
            item = self._pending.pop(0)
            group.append(item)
            size += len(item.messages)
        return group

    async def _commit(self, group: list[_Pending]) -> None:
        try:
            outcomes = await self._write(group)
        except (StoreError, Exception) as error:
            if len(group) == 1:
                outcomes = [error]
            else:
                log.warning(
                    "group of %d accepts failed (%s); retrying each alone", len(group), error
                )
                outcomes = [await self._alone(item) for item in group]
        self.groups += 1
        self.requests += len(group)
        for item, outcome in zip(group, outcomes, strict=True):
            if item.answer.done():
                continue
            if isinstance(outcome, BaseException):
                item.answer.set_exception(outcome)
            else:
                item.answer.set_result(outcome)

    async def _alone(self, item: _Pending) -> Outcome:
        try:
            return await queries.accept_messages(
                self._store, item.account_id, item.messages, item.idempotency
            )
        except Exception as error:
            return error

    async def _write(self, group: list[_Pending]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        to_insert: list[queries.AcceptRequest] = []
        first_use: dict[tuple[str, str], Idempotency] = {}
        async with self._store.write() as connection:
            for item in group:
                key = item.idempotency
                if key is not None:
                    earlier_here = first_use.get((item.account_id, key.key))
                    if earlier_here is not None:  # the same key twice in one group
                        same = earlier_here.request_hash == key.request_hash
                        outcomes.append(
                            earlier_here.response if same else IdempotencyConflictError(key.key)
                        )
                        continue
                    try:
                        earlier = await queries.earlier_answer(connection, item.account_id, key)
                    except IdempotencyConflictError as conflict:
                        outcomes.append(conflict)
                        continue
                    if earlier is not None:
                        outcomes.append(earlier)
                        continue
                    first_use[(item.account_id, key.key)] = key
                to_insert.append((item.account_id, item.messages, key))
                outcomes.append(None)
            await queries.insert_accepted(connection, to_insert, queries.now_us())
        return outcomes
