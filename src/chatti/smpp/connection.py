"""The asyncio shell around one SMPP session: read, feed, write, and match answers.

Shared by the client (ESME) and the server (SMSC side). It owns the futures of our
requests in flight, keyed by sequence number, and runs the peer's requests through
the application's handler. Writes are coalesced: every PDU produced in one pass of the
event loop leaves in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import NamedTuple

from chatti.smpp import pdu as p
from chatti.smpp import session as s
from chatti.smpp.constants import CommandId, CommandStatus, status_name
from chatti.smpp.throttle import THROTTLE_STATUSES, ThrottleBackoff

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
WRITE_HIGH_WATER = 1024 * 1024  # wait for the socket to drain past this many buffered octets


class OutcomeKind(enum.Enum):
    OK = "ok"
    ERROR = "error"  # the peer answered with a non-zero command_status
    TIMEOUT = "timeout"  # no answer within the response timeout: outcome unknown
    CONNECTION_LOST = "connection_lost"  # sent, then the connection went: outcome unknown
    NOT_BOUND = "not_bound"  # never sent


class Outcome(NamedTuple):
    kind: OutcomeKind
    response: p.Pdu | None = None
    sequence_number: int = 0

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.OK

    @property
    def command_status(self) -> int | None:
        return None if self.response is None else self.response.command_status

    @property
    def may_have_been_delivered(self) -> bool:
        """True when the request left but its answer never came back."""
        return self.kind in (OutcomeKind.TIMEOUT, OutcomeKind.CONNECTION_LOST)

    def describe(self) -> str:
        if self.kind is OutcomeKind.ERROR and self.command_status is not None:
            return f"error {status_name(self.command_status)}"
        return self.kind.value


# What a handler returns for a peer's request: the response, or an awaitable of it
# (so a handler that must persist before acknowledging can), or None for the two
# requests that take no response.
HandlerResult = p.Pdu | Awaitable[p.Pdu | None] | None
RequestHandler = Callable[["Connection", p.Pdu], HandlerResult]


class Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: s.Session,
        handler: RequestHandler,
        *,
        name: str = "smpp",
        throttle: ThrottleBackoff | None = None,
        throttle_retries: int = 10,
    ) -> None:
        self.session = session
        self.name = name
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._waiting: dict[int, asyncio.Future[Outcome]] = {}
        self._window_waiters: deque[asyncio.Future[None]] = deque()
        self._flush_scheduled = False
        self._handler_tasks: set[asyncio.Task[p.Pdu | None]] = set()
        self._throttle = throttle or ThrottleBackoff()
        self._throttle_retries = throttle_retries
        self._paused_until = 0.0
        self._loop = asyncio.get_running_loop()
        self.bound = asyncio.Event()
        self.closed = asyncio.Event()
        set_nodelay(writer)

    # The loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes; then fail what is still in flight."""
        timers = asyncio.create_task(self._run_timers(), name=f"{self.name} timers")
        try:
            while not self.closed.is_set():
                try:
                    data = await self._reader.read(READ_SIZE)
                except (ConnectionError, OSError) as error:
                    log.info("%s: read failed: %s", self.name, error)
                    data = b""
                self.session.receive_data(data)
                self._process_events()
                self._flush()
                if not data or self.session.must_close:
                    break
        finally:
            timers.cancel()
            await self._shutdown()

    async def _run_timers(self) -> None:
        while True:
            delay = min(1.0, max(0.01, self.session.next_deadline() - self._loop.time()))
            await asyncio.sleep(delay)
            self.session.check_timers(self._loop.time())
            self._process_events()
            self._flush()

    async def _shutdown(self) -> None:
        self.session.close()
        self._process_events()
        self.closed.set()
        self.bound.clear()
        self._writer.close()
        for task in list(self._handler_tasks):
            task.cancel()
        for waiter in self._window_waiters:
            if not waiter.done():
                waiter.set_result(None)
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    def close(self) -> None:
        """Close now; what is in flight is reported as CONNECTION_LOST."""
        self.closed.set()
        self._writer.close()

    # Requests we send ---------------------------------------------------------------

    async def request(self, pdu: p.Pdu) -> Outcome:
        """Send a request and wait for its outcome, pausing while the peer throttles.

        A throttled request (ESME_RTHROTTLED, ESME_RMSGQFUL) is sent again after a
        growing pause, up to `throttle_retries` times, before its refusal is returned.
        """
        for attempt in range(self._throttle_retries + 1):
            outcome = await self._request_once(pdu)
            status = outcome.command_status
            if status in THROTTLE_STATUSES:
                pause = self._throttle.on_throttled()
                self._paused_until = max(self._paused_until, self._loop.time() + pause)
                log.info("%s: throttled (%s), pausing %.2fs", self.name, status_name(status), pause)
                if attempt < self._throttle_retries:
                    continue
            elif outcome.ok:
                self._throttle.on_success()
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request_once(self, pdu: p.Pdu) -> Outcome:
        woken = False  # a woken waiter takes the free slot before those still queued
        while True:
            if self.closed.is_set() or not self.session.can_send(pdu.command_id):
                return Outcome(OutcomeKind.NOT_BOUND)
            pause = self._paused_until - self._loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            if self.session.window_free > 0 and (woken or not self._window_waiters):
                break
            await self._wait_for_window()
            woken = True
        sequence = self.session.send(pdu)
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._waiting[sequence] = future
        self._schedule_flush()
        if self._writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            await self._drain()
        return await future

    async def _wait_for_window(self) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._window_waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._window_waiters:
                self._window_waiters.remove(waiter)

    def _wake_window_waiters(self) -> None:
        free = self.session.window_free
        while free > 0 and self._window_waiters:
            waiter = self._window_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError):
            self.close()

    async def unbind(self, timeout: float = 5.0) -> None:
        """Say goodbye properly (SMPP 3.4, 4.2); close regardless after `timeout`."""
        if self.session.can_send(CommandId.UNBIND):
            try:
                await asyncio.wait_for(self._request_once(p.Unbind()), timeout)
            except TimeoutError:
                log.info("%s: no unbind_resp within %.1fs", self.name, timeout)
        self.close()

    # Writing ------------------------------------------------------------------------

    def send(self, pdu: p.Pdu) -> None:
        """Queue a PDU that needs no answer tracking (responses, generic_nack)."""
        self.session.send(pdu)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    # Events -------------------------------------------------------------------------

    def _process_events(self) -> None:
        for event in self.session.events():
            if isinstance(event, s.ResponseReceived):
                self._resolve(event.pdu.sequence_number, _outcome_of(event.pdu))
            elif isinstance(event, s.PduReceived):
                self._handle_request(event.pdu)
            elif isinstance(event, s.ResponseTimedOut):
                self._on_timeout(event.request, event.sequence_number)
            elif isinstance(event, s.Bound):
                log.info("%s: bound as %s (%s)", self.name, event.state.value, event.system_id)
                self.bound.set()
            elif isinstance(event, s.Unbound):
                log.info("%s: unbound", self.name)
                self.bound.clear()
            elif isinstance(event, s.ConnectionClosed):
                for sequence in list(self._waiting):
                    self._resolve(sequence, Outcome(OutcomeKind.CONNECTION_LOST, None, sequence))
            elif isinstance(event, s.ProtocolErrorOccurred):
                log.warning(
                    "%s: protocol error from peer (seq %s): %s -> %s",
                    self.name,
                    event.error.sequence_number,
                    event.error,
                    status_name(event.error.command_status),
                )
            elif isinstance(event, s.UnexpectedResponse):
                log.warning(
                    "%s: response #%s matches no request in flight",
                    self.name,
                    event.pdu.sequence_number,
                )
        self._wake_window_waiters()

    def _resolve(self, sequence: int, outcome: Outcome) -> None:
        future = self._waiting.pop(sequence, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    def _on_timeout(self, request: p.Pdu, sequence: int) -> None:
        if request.command_id == CommandId.ENQUIRE_LINK:
            log.warning("%s: enquire_link unanswered, closing the link", self.name)
            self.close()
            return
        log.warning("%s: %s #%s timed out", self.name, type(request).__name__, sequence)
        self._resolve(sequence, Outcome(OutcomeKind.TIMEOUT, None, sequence))

    def _handle_request(self, pdu: p.Pdu) -> None:
        try:
            result = self._handler(self, pdu)
        except Exception:
            log.exception(
                "%s: handler failed on %s #%s", self.name, type(pdu).__name__, pdu.sequence_number
            )
            self._answer_failure(pdu)
            return
        if isinstance(result, p.Pdu):  # the common answer, checked first: it is cheaper
            self.send(result)
        elif inspect.isawaitable(result):
            # A future (what receipt intake returns) is answered from its callback; a
            # coroutine gets a task first, which is cancelled if the connection closes.
            pending = asyncio.ensure_future(result)
            if isinstance(pending, asyncio.Task):
                self._handler_tasks.add(pending)
                pending.add_done_callback(self._handler_tasks.discard)
            pending.add_done_callback(partial(self._answer_when_done, pdu))

    def _answer_when_done(self, pdu: p.Pdu, done: asyncio.Future[p.Pdu | None]) -> None:
        """A handler's awaitable settled: send its response, or "try again later"."""
        if done.cancelled():
            return
        error = done.exception()  # retrieved even when closed, so asyncio does not warn
        if self.closed.is_set():
            return
        if error is not None:
            log.error(
                "%s: handler failed on %s #%s",
                self.name,
                type(pdu).__name__,
                pdu.sequence_number,
                exc_info=error,
            )
            self._answer_failure(pdu)
            return
        response = done.result()
        if response is not None:
            self.send(response)

    def _answer_failure(self, pdu: p.Pdu) -> None:
        """The application could not take the request: answer "try again later" so the
        peer keeps it (SMPP 3.4, 5.1.3: ESME_RX_T_APPN, temporary application error)."""
        if p.response_type(pdu.command_id) is not None and not self.closed.is_set():
            self.send(p.response_to(pdu, CommandStatus.ESME_RX_T_APPN))


def _outcome_of(response: p.Pdu) -> Outcome:
    ok = response.command_status == CommandStatus.ESME_ROK
    if ok and not isinstance(response, p.GenericNack):
        return Outcome(OutcomeKind.OK, response, response.sequence_number)
    return Outcome(OutcomeKind.ERROR, response, response.sequence_number)


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    """Small PDUs must leave at once: Nagle's algorithm alone cost Jasmin 9x."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
