"""The SMPP 3.4 session as a state machine: bytes in, events out; PDUs in, bytes out.

No sockets and no clock reading: the shell feeds received bytes, drains `events()`,
writes `data_to_send()`, and calls `check_timers(now)`. The session answers on its own
what the spec makes automatic: enquire_link, unbind, PDUs sent in the wrong state
(ESME_RINVBNDSTS, ESME_RALYBND) and undecodable input (generic_nack).

Which PDU may be sent in which state is one table, ALLOWED, of (sender role, state) to
command ids (SMPP 3.4, 2.3 and 2.4); state changes are another, TRANSITIONS. docs/smpp.md
draws its diagram from the same tables (see `state_diagram`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp.constants import RESPONSE_BIT, CommandId, CommandStatus
from chatti.smpp.errors import LocalProtocolError, RemoteProtocolError

MAX_SEQUENCE_NUMBER = 0x7FFFFFFF  # SMPP 3.4, 5.1.4: 0x00000001 to 0x7FFFFFFF


class Role(enum.Enum):
    ESME = "esme"  # the client: binds, submits
    SMSC = "smsc"  # the server: accepts binds, delivers


class State(enum.Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBOUND = "unbound"
    CLOSED = "closed"


BOUND_STATES = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})

_ESME_TX_REQUESTS = frozenset(
    {
        CommandId.SUBMIT_SM,
        CommandId.SUBMIT_MULTI,
        CommandId.DATA_SM,
        CommandId.QUERY_SM,
        CommandId.CANCEL_SM,
        CommandId.REPLACE_SM,
    }
)
_SMSC_RX_REQUESTS = frozenset(
    {CommandId.DELIVER_SM, CommandId.DATA_SM, CommandId.ALERT_NOTIFICATION}
)
_LINK = frozenset({CommandId.ENQUIRE_LINK, CommandId.UNBIND})
_BINDS = frozenset(
    {CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}
)

# SMPP 3.4, 2.3 and 4.x "PDU may be issued in states": the requests each side may
# send in each state. generic_nack and responses are always allowed.
ALLOWED: dict[tuple[Role, State], frozenset[int]] = {
    (Role.ESME, State.OPEN): _BINDS | {CommandId.ENQUIRE_LINK},
    (Role.ESME, State.BOUND_TX): _ESME_TX_REQUESTS | _LINK,
    (Role.ESME, State.BOUND_RX): _LINK,
    (Role.ESME, State.BOUND_TRX): _ESME_TX_REQUESTS | _LINK,
    (Role.SMSC, State.OPEN): frozenset({CommandId.OUTBIND, CommandId.ENQUIRE_LINK}),
    (Role.SMSC, State.BOUND_TX): _LINK,
    (Role.SMSC, State.BOUND_RX): _SMSC_RX_REQUESTS | _LINK,
    (Role.SMSC, State.BOUND_TRX): _SMSC_RX_REQUESTS | _LINK,
}

# (state, completed exchange) -> next state. A bind completes with its OK response, an
# unbind with unbind_resp; a closed connection takes any state to CLOSED.
TRANSITIONS: dict[tuple[State, CommandId], State] = {
    (State.OPEN, CommandId.BIND_TRANSMITTER_RESP): State.BOUND_TX,
    (State.OPEN, CommandId.BIND_RECEIVER_RESP): State.BOUND_RX,
    (State.OPEN, CommandId.BIND_TRANSCEIVER_RESP): State.BOUND_TRX,
    (State.BOUND_TX, CommandId.UNBIND_RESP): State.UNBOUND,
    (State.BOUND_RX, CommandId.UNBIND_RESP): State.UNBOUND,
    (State.BOUND_TRX, CommandId.UNBIND_RESP): State.UNBOUND,
}


# Events ---------------------------------------------------------------------------------


class PduReceived(NamedTuple):
    """A request for the application: a bind to accept or refuse (SMSC side), a
    submit_sm, a deliver_sm... Answer it with `send(response_to(pdu, ...))`."""

    pdu: p.Pdu


class ResponseReceived(NamedTuple):
    """The answer to one of our requests. A response that could not be decoded comes
    as a GenericNack carrying the status the decoder chose."""

    pdu: p.Pdu
    request: p.Pdu


@dataclass(frozen=True, slots=True)
class ResponseTimedOut:
    request: p.Pdu
    sequence_number: int


@dataclass(frozen=True, slots=True)
class Bound:
    state: State
    system_id: str


@dataclass(frozen=True, slots=True)
class Unbound:
    pass


@dataclass(frozen=True, slots=True)
class ProtocolErrorOccurred:
    """The peer sent something we could not accept; the session already answered it.
    When `error.fatal`, write out data_to_send() and close the connection."""

    error: RemoteProtocolError


@dataclass(frozen=True, slots=True)
class UnexpectedResponse:
    """A response whose sequence number matches no request in flight: logged, dropped."""

    pdu: p.Pdu


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection. `unanswered` lists the requests whose outcome
    will never be known: the caller must treat them as possibly delivered."""

    unanswered: tuple[p.Pdu, ...]


Event = (
    PduReceived
    | ResponseReceived
    | ResponseTimedOut
    | Bound
    | Unbound
    | ProtocolErrorOccurred
    | UnexpectedResponse
    | ConnectionClosed
)


@dataclass(slots=True)
class _InFlight:
    request: p.Pdu
    deadline: float


class Session:
    """One side of one SMPP connection.

    `window` bounds our requests awaiting a response (SMPP 3.4, 2.6: asynchronous
    operation); `send` refuses a request beyond it, so the shell must wait for
    `window_free`. Timers run on the `clock` the shell passes in (loop.time), so tests
    drive time by hand.
    """

    def __init__(
        self,
        role: Role,
        *,
        clock: Callable[[], float],
        window: int = 10,
        response_timeout: float = 30.0,
        enquire_link_interval: float = 30.0,
        max_command_length: int = codec.MAX_COMMAND_LENGTH,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.role = role
        self.state = State.OPEN
        self.window = window
        self.response_timeout = response_timeout
        self.enquire_link_interval = enquire_link_interval
        self.system_id = ""
        self._clock = clock
        self._frames = codec.FrameBuffer(max_command_length)
        self._out = bytearray()
        self._events: list[Event] = []
        self._in_flight: dict[int, _InFlight] = {}
        self._to_answer: dict[int, int] = {}  # sequence_number -> command_id of peer requests
        self._last_sequence = 0
        self._last_activity = clock()
        self._unbinding = False
        self._fatal = False

    # Sending ------------------------------------------------------------------------

    @property
    def window_free(self) -> int:
        return self.window - len(self._in_flight)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def can_send(self, command_id: int) -> bool:
        if self._unbinding and command_id != CommandId.ENQUIRE_LINK:
            return False
        return command_id in ALLOWED.get((self.role, self.state), ())

    def send(self, pdu: p.Pdu) -> int:
        """Encode pdu into data_to_send() and return its sequence number.

        A request whose sequence_number is 0 gets the next one; a response must
        answer a request the peer sent and we have not answered yet.
        """
        if self.state is State.CLOSED:
            raise LocalProtocolError("the connection is closed")
        if pdu.is_response:
            return self._send_response(pdu)
        if pdu.command_id == CommandId.GENERIC_NACK:
            self._out += codec.encode(pdu)
            return pdu.sequence_number
        if not self.can_send(pdu.command_id):
            raise LocalProtocolError(
                f"{type(pdu).__name__} may not be sent by the {self.role.value} in state"
                f" {self.state.value}" + (" while unbinding" if self._unbinding else "")
            )
        expects_answer = pdu.command_id not in p.UNANSWERED_REQUESTS
        if expects_answer and len(self._in_flight) >= self.window:
            raise LocalProtocolError(f"window of {self.window} requests is full")
        sequence = pdu.sequence_number or self._next_sequence()
        self._out += codec.encode(pdu, sequence)
        if expects_answer:
            self._in_flight[sequence] = _InFlight(pdu, self._clock() + self.response_timeout)
        if pdu.command_id == CommandId.UNBIND:
            self._unbinding = True
        return sequence

    def _send_response(self, pdu: p.Pdu) -> int:
        request_id = self._to_answer.pop(pdu.sequence_number, None)
        if request_id is None or request_id | RESPONSE_BIT != pdu.command_id:
            raise LocalProtocolError(
                f"{type(pdu).__name__} #{pdu.sequence_number} answers no request of the peer"
            )
        self._out += codec.encode(pdu)
        if pdu.command_status == CommandStatus.ESME_ROK:
            self._complete(pdu.command_id)
        return pdu.sequence_number

    def _next_sequence(self) -> int:
        sequence = self._last_sequence % MAX_SEQUENCE_NUMBER + 1
        while sequence in self._in_flight:  # only after two billion requests with one stuck
            sequence = sequence % MAX_SEQUENCE_NUMBER + 1
        self._last_sequence = sequence
        return sequence

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    # Receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; b"" means the peer closed the connection."""
        if self.state is State.CLOSED or self._fatal:
            return
        if not data:
            self._close()
            return
        self._last_activity = self._clock()
        self._frames.feed(data)
        try:
            for frame in self._frames.frames():
                self._receive_frame(frame)
        except RemoteProtocolError as error:  # framing lost: nothing after can be trusted
            self._fatal = True
            self._nack(error)

    def _receive_frame(self, frame: codec.Frame) -> None:
        try:
            pdu = codec.decode_frame(frame)
        except RemoteProtocolError as error:
            if frame.command_id & RESPONSE_BIT and frame.sequence_number in self._in_flight:
                nack = p.GenericNack(
                    sequence_number=frame.sequence_number, command_status=error.command_status
                )
                self._receive_response(nack)
            self._nack(error)
            return
        if pdu.is_response:
            self._receive_response(pdu)
        else:
            self._receive_request(pdu)

    def _nack(self, error: RemoteProtocolError) -> None:
        """Answer a PDU we cannot accept: with its own response carrying the error
        status when it is a request we know, else with generic_nack (SMPP 3.4, 4.3).
        A broken response is never answered."""
        self._events.append(ProtocolErrorOccurred(error))
        command_id = error.command_id
        if error.fatal or command_id is None:
            answer_type: type[p.Pdu] = p.GenericNack
        elif command_id & RESPONSE_BIT:
            return
        else:
            answer_type = p.response_type(command_id) or p.GenericNack
        answer = answer_type(
            sequence_number=error.sequence_number, command_status=error.command_status
        )
        self._out += codec.encode(answer)

    def _receive_request(self, pdu: p.Pdu) -> None:
        command_id = pdu.command_id
        peer = Role.SMSC if self.role is Role.ESME else Role.ESME
        if command_id not in ALLOWED.get((peer, self.state), ()):
            if command_id in _BINDS and self.state in BOUND_STATES:
                status = CommandStatus.ESME_RALYBND
            else:
                status = CommandStatus.ESME_RINVBNDSTS
            self._nack(
                RemoteProtocolError(
                    f"{type(pdu).__name__} not allowed in state {self.state.value}",
                    status,
                    sequence_number=pdu.sequence_number,
                    command_id=command_id,
                )
            )
            return
        if command_id == CommandId.ENQUIRE_LINK:
            self._out += codec.encode(p.EnquireLinkResp(sequence_number=pdu.sequence_number))
            return
        if command_id == CommandId.UNBIND:
            self._out += codec.encode(p.UnbindResp(sequence_number=pdu.sequence_number))
            self._complete(CommandId.UNBIND_RESP)
            return
        if command_id in _BINDS:
            self.system_id = pdu.system_id  # type: ignore[attr-defined]
        if command_id not in p.UNANSWERED_REQUESTS:
            self._to_answer[pdu.sequence_number] = command_id
        self._events.append(PduReceived(pdu))

    def _receive_response(self, pdu: p.Pdu) -> None:
        in_flight = self._in_flight.pop(pdu.sequence_number, None)
        if in_flight is None:
            self._events.append(UnexpectedResponse(pdu))
            return
        request = in_flight.request
        if pdu.command_id == CommandId.ENQUIRE_LINK_RESP:
            return  # the link is alive; last_activity was updated on receipt
        self._events.append(ResponseReceived(pdu, request))
        if pdu.command_status == CommandStatus.ESME_ROK and pdu.command_id == (
            request.command_id | RESPONSE_BIT
        ):
            if request.command_id in _BINDS:
                self.system_id = request.system_id  # type: ignore[attr-defined]
            self._complete(pdu.command_id)

    def _complete(self, exchange: int) -> None:
        # A plain int finds its CommandId key (an IntEnum hashes as its value), and
        # building the enum for every submit_sm_resp cost a microsecond for nothing.
        next_state = TRANSITIONS.get((self.state, exchange))  # type: ignore[arg-type]
        if next_state is None:
            return
        self.state = next_state
        if next_state in BOUND_STATES:
            self._events.append(Bound(next_state, self.system_id))
        elif next_state is State.UNBOUND:
            self._unbinding = False
            self._events.append(Unbound())

    def _close(self) -> None:
        unanswered = tuple(
            item.request
            for item in self._in_flight.values()
            if item.request.command_id != CommandId.ENQUIRE_LINK
        )
        self._in_flight.clear()
        self._to_answer.clear()
        self.state = State.CLOSED
        self._events.append(ConnectionClosed(unanswered))

    def close(self) -> None:
        """The shell closed the connection (or lost it): report what stays unanswered."""
        if self.state is not State.CLOSED:
            self._close()

    # Events and timers --------------------------------------------------------------

    def events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    @property
    def must_close(self) -> bool:
        """The byte stream is corrupt: flush data_to_send() and close."""
        return self._fatal

    def check_timers(self, now: float | None = None) -> None:
        """Expire unanswered requests; send enquire_link on an idle bound link."""
        now = self._clock() if now is None else now
        if self._in_flight:
            expired = []
            for sequence, item in self._in_flight.items():
                if item.deadline > now:
                    break  # deadlines grow in sending order
                expired.append(sequence)
            for sequence in expired:
                request = self._in_flight.pop(sequence).request
                self._events.append(ResponseTimedOut(request, sequence))
        if (
            self.state in BOUND_STATES
            and not self._unbinding
            and now - self._last_activity >= self.enquire_link_interval
            and not any(
                item.request.command_id == CommandId.ENQUIRE_LINK
                for item in self._in_flight.values()
            )
            and len(self._in_flight) < self.window
        ):
            self.send(p.EnquireLink())
            self._last_activity = now

    def next_deadline(self) -> float:
        """When check_timers next has something to do (or may have)."""
        deadline = self._last_activity + self.enquire_link_interval
        for item in self._in_flight.values():
            return min(deadline, item.deadline)
        return deadline


def state_diagram() -> str:
    """The bind state machine as a Mermaid diagram, drawn from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> open"]
    for (state, exchange), target in TRANSITIONS.items():
        lines.append(f"    {state.value} --> {target.value}: {exchange.name.lower()}")
    lines.append("    unbound --> closed: connection closed")
    lines.append("    closed --> [*]")
    return "\n".join(lines)
