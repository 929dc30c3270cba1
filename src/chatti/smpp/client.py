"""The ESME side: connect, bind, keep the bind alive, rebind after a drop.

    async with SmppClient(ClientConfig(host, port, system_id, password), on_deliver) as client:
        await client.wait_bound(10)
        outcome = await client.request(SubmitSm(...))

`request` never raises for protocol outcomes: an answer, an error status, a timeout, a
lost connection or "not bound" all come back as an Outcome. A deliver_sm (receipt or
inbound message) is acknowledged only once `on_deliver` has returned, so a crash before
that leaves the carrier to deliver it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType

from chatti.smpp import pdu as p
from chatti.smpp import session as s
from chatti.smpp.connection import Connection, HandlerResult, Outcome, OutcomeKind
from chatti.smpp.constants import CommandStatus, status_name

log = logging.getLogger(__name__)


class BindType(enum.StrEnum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"


_BIND_PDUS: dict[BindType, type[p.BindTransmitter | p.BindReceiver | p.BindTransceiver]] = {
    BindType.TRANSMITTER: p.BindTransmitter,
    BindType.RECEIVER: p.BindReceiver,
    BindType.TRANSCEIVER: p.BindTransceiver,
}


@dataclass(frozen=True, slots=True)
class ClientConfig:
    host: str
    port: int
    system_id: str
    password: str = ""
    system_type: str = ""
    bind_type: BindType = BindType.TRANSCEIVER
    window: int = 10
    response_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    connect_timeout: float = 10.0
    bind_timeout: float = 10.0
    reconnect_initial: float = 0.5
    reconnect_maximum: float = 30.0
    throttle_retries: int = 10


# Receives each deliver_sm or data_sm; returns the command_status to answer with, or an
# awaitable of it (None standing for ESME_ROK). An asyncio.Future costs no task: the
# answer leaves from its done callback, which matters at thousands of receipts a second.
DeliverHandler = Callable[[p.DeliverSm | p.DataSm], int | Awaitable[int | None]]


class SmppClient:
    def __init__(self, config: ClientConfig, on_deliver: DeliverHandler | None = None) -> None:
        self.config = config
        self._on_deliver = on_deliver
        self._connection: Connection | None = None
        self._stopping = asyncio.Event()
        self._bound = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.binds = 0  # successful binds, counted for health reports
        self.requests = 0  # requests sent over its binds
        self.last_error = ""

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    @property
    def window_free(self) -> int:
        """Requests that may be sent now without waiting for an answer (0 unbound)."""
        connection = self._connection
        if connection is None or not self._bound.is_set():
            return 0
        return connection.session.window_free

    def start(self) -> None:
        """Connect and keep the bind up in a task this client owns, until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(
                self.run(), name=f"smpp client {self.config.system_id}"
            )

    async def __aenter__(self) -> SmppClient:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def wait_bound(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._bound.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def request(self, pdu: p.Pdu) -> Outcome:
        connection = self._connection
        if connection is None or not self._bound.is_set():
            return Outcome(OutcomeKind.NOT_BOUND)
        self.requests += 1
        return await connection.request(pdu)

    async def stop(self, timeout: float = 5.0) -> None:
        """Unbind (waiting up to `timeout` for the answer), close, end `run`."""
        self._stopping.set()
        if self._connection is not None:
            await self._connection.unbind(timeout)
        if self._task is not None:
            await self._task
            self._task = None

    def drop(self) -> None:
        """Close the connection at once, as a network failure would (tests, failover)."""
        if self._connection is not None:
            self._connection.close()

    async def run(self) -> None:
        """Connect, bind, serve; after any loss wait a growing, jittered delay and again."""
        delay = self.config.reconnect_initial
        while not self._stopping.is_set():
            try:
                bound = await self._connect_and_serve()
            except (OSError, TimeoutError) as error:
                bound = False
                self.last_error = f"connect failed: {error}"
                log.info("%s:%s %s", self.config.host, self.config.port, self.last_error)
            if self._stopping.is_set():
                break
            delay = (
                self.config.reconnect_initial
                if bound
                else min(self.config.reconnect_maximum, delay * 2)
            )
            wait = delay * random.uniform(0.5, 1.0)  # jitter: binds of many nodes spread out
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    async def _connect_and_serve(self) -> bool:
        config = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.connect_timeout
        )
        loop = asyncio.get_running_loop()
        session = s.Session(
            s.Role.ESME,
            clock=loop.time,
            window=config.window,
            response_timeout=config.response_timeout,
            enquire_link_interval=config.enquire_link_interval,
        )
        name = f"esme {config.system_id}@{config.host}:{config.port}"
        connection = Connection(
            reader,
            writer,
            session,
            self._handle,
            name=name,
            throttle_retries=config.throttle_retries,
        )
        self._connection = connection
        serving = asyncio.create_task(connection.run(), name=f"{name} reader")
        bound = False
        try:
            bind = _BIND_PDUS[config.bind_type](
                system_id=config.system_id,
                password=config.password,
                system_type=config.system_type,
            )
            try:
                outcome = await asyncio.wait_for(connection.request(bind), config.bind_timeout)
            except TimeoutError:
                outcome = Outcome(OutcomeKind.TIMEOUT)
            if outcome.ok:
                bound = True
                self.binds += 1
                self.last_error = ""
                self._bound.set()
            else:
                self.last_error = f"bind refused: {outcome.describe()}"
                log.warning("%s: %s", name, self.last_error)
                connection.close()
            await serving
        finally:
            self._bound.clear()
            connection.close()
            if not serving.done():
                await serving
            if self._connection is connection:
                self._connection = None
        return bound

    def _handle(self, connection: Connection, pdu: p.Pdu) -> HandlerResult:
        if isinstance(pdu, p.DeliverSm | p.DataSm):
            return self._deliver(pdu)
        if isinstance(pdu, p.Outbind | p.AlertNotification):
            log.info("%s: %s ignored", connection.name, type(pdu).__name__)
            return None
        return p.response_to(pdu, CommandStatus.ESME_RINVCMDID)

    def _deliver(self, pdu: p.DeliverSm | p.DataSm) -> HandlerResult:
        if self._on_deliver is None:
            return p.response_to(pdu)
        status = self._on_deliver(pdu)
        if isinstance(status, int):
            return _deliver_response(pdu, status)
        answer: asyncio.Future[p.Pdu | None] = asyncio.get_running_loop().create_future()
        asyncio.ensure_future(status).add_done_callback(partial(_relay_response, pdu, answer))
        return answer


def _deliver_response(pdu: p.DeliverSm | p.DataSm, status: int | None) -> p.Pdu:
    if status:
        log.info("deliver_sm #%s answered %s", pdu.sequence_number, status_name(status))
    return p.response_to(pdu, status or CommandStatus.ESME_ROK)


def _relay_response(
    pdu: p.DeliverSm | p.DataSm,
    answer: asyncio.Future[p.Pdu | None],
    done: asyncio.Future[int | None],
) -> None:
    if answer.done():
        return
    if done.cancelled():
        answer.cancel()
    elif (error := done.exception()) is not None:
        answer.set_exception(error)
    else:
        answer.set_result(_deliver_response(pdu, done.result()))
