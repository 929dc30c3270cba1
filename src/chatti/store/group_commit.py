"""Group commit: concurrent writers share one transaction, so one disk flush.

With durable commits every transaction waits for its fsync; one message (or receipt)
per transaction would cap a node at a few hundred per second whatever the CPU.
Items arriving while a commit is in flight wait for the next one, which takes them all
together: no timer, so a lone item pays nothing extra, and under load each flush
carries many. A caller is answered only after the commit that holds its item returned.

If a shared transaction fails, each of its items is retried in a transaction of its
own, so one bad item never fails another.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from chatti.store import queries
from chatti.store.engine import Store, StoreConnection
from chatti.store.errors import IdempotencyConflictError, StoreUnavailableError
from chatti.store.models import Idempotency, NewMessage, StoredResponse

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_GROUP_ITEMS = 20_000  # bounds one transaction's size and the time its lock is held

# What runs inside a group's transaction; returns one outcome per item, in order (an
# exception instance is handed to that item's caller, the others still commit).
GroupStatements = Callable[[StoreConnection], Awaitable[list[R | BaseException]]]
# Called with a group before its transaction, for the work that needs no database
# (building rows: SQLite's write lock is held for as little as that), it returns the
# statements to run inside.
GroupWrite = Callable[[Sequence[T]], GroupStatements[R]]


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    item: T
    weight: int
    answer: asyncio.Future[R]


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        store: Store,
        write: GroupWrite[T, R],
        *,
        name: str,
        weight: Callable[[T], int] = lambda item: 1,
        max_weight: int = MAX_GROUP_ITEMS,
    ) -> None:
        self._store = store
        self._write = write
        self._name = name
        self._weight = weight
        self._max = max_weight
        self._pending: deque[_Waiting[T, R]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.groups = 0  # transactions committed, for metrics and tests
        self.items = 0

    async def submit(self, item: T) -> R:
        return await self.enqueue(item)

    def enqueue(self, item: T) -> asyncio.Future[R]:
        """Queue an item; the future is answered once its commit returned."""
        if self._closing:
            raise StoreUnavailableError("the node is shutting down")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append(_Waiting(item, self._weight(item), answer))
        self._wakeup.set()
        return answer

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
                await self._commit(self._take_group())
            if self._closing:
                return

    def _take_group(self) -> list[_Waiting[T, R]]:
        group: list[_Waiting[T, R]] = []
        weight = 0
        while self._pending and (not group or weight + self._pending[0].weight <= self._max):
            waiting = self._pending.popleft()
            group.append(waiting)
            weight += waiting.weight
        return group

    async def _commit(self, group: list[_Waiting[T, R]]) -> None:
        try:
            outcomes = await self._transaction([waiting.item for waiting in group])
        except Exception as error:
            if len(group) == 1:
                outcomes = [error]
            else:
                log.warning(
                    "%s: group of %d failed (%s); each alone", self._name, len(group), error
                )
                outcomes = []
                for waiting in group:
                    try:
                        outcomes.extend(await self._transaction([waiting.item]))
                    except Exception as alone_error:
                        outcomes.append(alone_error)
        self.groups += 1
        self.items += len(group)
        for waiting, outcome in zip(group, outcomes, strict=True):
            if waiting.answer.done():
                continue
            if isinstance(outcome, BaseException):
                waiting.answer.set_exception(outcome)
            else:
                waiting.answer.set_result(outcome)

    async def _transaction(self, items: Sequence[T]) -> list[R | BaseException]:
        statements = self._write(items)
        async with self._store.write() as connection:
            return await statements(connection)


# Accepting messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Accept:
    account_id: str
    messages: Sequence[NewMessage]
    idempotency: Idempotency | None


class AcceptQueue:
    """Same contract as queries.accept_messages, with concurrent requests committed
    together: None once committed now, the stored answer for a repeated idempotency
    key, IdempotencyConflictError for a reused one."""

    def __init__(self, store: Store, max_group_messages: int = MAX_GROUP_ITEMS) -> None:
        self._committer: GroupCommitter[_Accept, StoredResponse | None] = GroupCommitter(
            store,
            _write_accepts,
            name="accept group commit",
            weight=lambda accept: len(accept.messages),
            max_weight=max_group_messages,
        )

    @property
    def groups(self) -> int:
        return self._committer.groups

    @property
    def requests(self) -> int:
        return self._committer.items

    async def accept(
        self,
        account_id: str,
        messages: Sequence[NewMessage],
        idempotency: Idempotency | None = None,
    ) -> StoredResponse | None:
        return await self._committer.submit(_Accept(account_id, messages, idempotency))

    async def close(self) -> None:
        await self._committer.close()


def _write_accepts(group: Sequence[_Accept]) -> GroupStatements[StoredResponse | None]:
    return partial(_accept_group, group=group)


async def _accept_group(
    connection: StoreConnection, group: Sequence[_Accept]
) -> list[StoredResponse | BaseException | None]:
    outcomes: list[StoredResponse | BaseException | None] = []
    to_insert: list[queries.AcceptRequest] = []
    first_use: dict[tuple[str, str], Idempotency] = {}
    for accept in group:
        key = accept.idempotency
        if key is not None:
            earlier_here = first_use.get((accept.account_id, key.key))
            if earlier_here is not None:  # the same key twice in one group
                same = earlier_here.request_hash == key.request_hash
                outcomes.append(
                    earlier_here.response if same else IdempotencyConflictError(key.key)
                )
                continue
            try:
                earlier = await queries.earlier_answer(connection, accept.account_id, key)
            except IdempotencyConflictError as conflict:
                outcomes.append(conflict)
                continue
            if earlier is not None:
                outcomes.append(earlier)
                continue
            first_use[(accept.account_id, key.key)] = key
        to_insert.append((accept.account_id, accept.messages, key))
        outcomes.append(None)
    await queries.insert_accepted(connection, to_insert, queries.now_us())
    return outcomes
