"""A carrier SMSC for demos, tests and benchmarks: real SMPP over TCP.

It accepts binds (checking credentials when configured), answers submit_sm with a
unique id, sends a delivery receipt after a delay, and can be told to throttle, refuse
a share of submits, ignore binds, drop every connection, or go down and come back. It
counts everything it sees, because tests prove "nothing lost, nothing sent twice" from
these counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from chatti.simulator.outcomes import ReceiptMix
from chatti.smpp import pdu as p
from chatti.smpp.connection import Connection, HandlerResult
from chatti.smpp.constants import CommandStatus, EsmClass, MessageState, RegisteredDelivery, TlvTag
from chatti.smpp.receipts import format_receipt_text
from chatti.smpp.server import BindRequest, SmppServer
from chatti.smpp.session import BOUND_STATES, State

log = logging.getLogger(__name__)

RECEIVING_STATES = frozenset({State.BOUND_RX, State.BOUND_TRX})
RECEIPT_RETRY_DELAY = 1.0  # seconds before a receipt the ESME did not acknowledge goes again


def submit_key(source_addr: str, destination_addr: str, short_message: bytes) -> bytes:
    """A stable 8-byte digest of what makes two submits the same message."""
    material = f"{source_addr}\0{destination_addr}\0".encode() + short_message
    return hashlib.blake2b(material, digest_size=8).digest()


@dataclass(slots=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str | None = None  # when set, binds must carry it and the password
    password: str | None = None
    dlr_delay_ms: float = 100.0
    receipts: ReceiptMix = field(default_factory=ReceiptMix)
    throttle_every: int = 0  # every Nth submit_sm is answered ESME_RTHROTTLED
    fail_ratio: float = 0.0  # this share of submits is refused with fail_status
    fail_status: int = CommandStatus.ESME_RSUBMITFAIL
    bind_mode: str = "answer"  # "answer", or "ignore": take TCP, never answer binds
    send_receipts: bool = True
    window: int = 100  # receipts in flight per connection
    seed: int | None = None


@dataclass(slots=True)
class Stats:
    bind_attempts: int = 0
    binds: int = 0
    bind_refusals: int = 0
    submits: int = 0  # submit_sm (and data_sm) accepted with an id
    duplicates: int = 0  # accepted again with the same source, destination and text
    duplicate_messages: int = 0  # distinct messages received more than once
    throttled: int = 0
    failed: int = 0
    receipts_sent: int = 0  # deliver_sm receipts written, retries included
    receipts_acked: int = 0  # answered ESME_ROK
    receipts_rejected: int = 0  # answered with an error, timed out or lost; sent again
    receipts_pending: int = 0  # due or waiting for a receiver bind

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# registered_delivery's receipt bits as plain ints: enum.Flag arithmetic, once per
# submit, was a tenth of the simulator's time in `chatti bench`.
_RECEIPT_ALWAYS = int(RegisteredDelivery.SMSC_RECEIPT_ALWAYS)
_RECEIPT_ASKED = int(
    RegisteredDelivery.SMSC_RECEIPT_ALWAYS | RegisteredDelivery.SMSC_RECEIPT_ON_FAILURE
)


@dataclass(slots=True)
class _PendingReceipt:
    system_id: str
    message_id: str
    state: MessageState
    source_addr: str  # the original submit's destination, now the receipt's source
    destination_addr: str
    submitted_at: datetime
    text: str


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = Stats()
        self._rng = random.Random(config.seed)
        self._server = SmppServer(
            self, host=config.host, port=config.port, system_id="simulator", window=config.window
        )
        self._next_id = 0
        # Digests, not the texts: a million-message run keeps 8 bytes a message, not a
        # copy. Two different keys share a 64-bit digest with odds near 1e-7 for ten
        # million messages: a false duplicate would show, never hide, a problem.
        self._seen: set[bytes] = set()
        self._repeated: set[bytes] = set()
        self._submit_count = 0
        self._receipts: asyncio.Queue[_PendingReceipt] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        # Receipts waiting out dlr_delay_ms, in due order (the delay is the same for all):
        # one timer for the next, not a timer per receipt.
        self._delayed: deque[tuple[float, _PendingReceipt]] = deque()
        self._delay_timer: asyncio.Handle | None = None

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def is_up(self) -> bool:
        return self._server.is_serving

    @property
    def bound_now(self) -> int:
        """Connections bound at this moment (`Stats.binds` counts every bind ever)."""
        return sum(
            connection.session.state in BOUND_STATES for connection in self._server.connections
        )

    async def start(self) -> None:
        await self._server.start()
        self.config.port = self._server.port
        self._add_receipt_senders(self.config.window)
        if self._delayed and self._delay_timer is None:
            self._delay_timer = asyncio.get_running_loop().call_soon(self._release_delayed)

    def _add_receipt_senders(self, wanted: int) -> None:
        """Enough receipt senders to fill the window of every bind: each waits for room
        in the window of the connection it picked, so extra ones cost nothing."""
        while len(self._senders) < wanted:
            number = len(self._senders)
            self._senders.append(
                asyncio.create_task(self._send_receipts(), name=f"receipt sender {number}")
            )

    async def stop(self) -> None:
        if self._delay_timer is not None:
            self._delay_timer.cancel()
            self._delay_timer = None
        for task in self._senders:
            task.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        self._senders = []
        await self._server.stop()

    async def go_down(self) -> None:
        """Stop listening and drop every connection; receipts wait for the return."""
        await self._server.stop()

    async def come_up(self) -> None:
        if not self._server.is_serving:
            await self._server.start()

    def drop_connections(self) -> None:
        self._server.drop_connections()

    def seen(self) -> list[str]:
        """The submit keys received (see submit_key), for tests that check each message."""
        return sorted(key.hex() for key in self._seen)

    def reset_stats(self) -> None:
        self.stats = Stats(receipts_pending=self.stats.receipts_pending)
        self._seen.clear()
        self._repeated.clear()

    # SmscHandler --------------------------------------------------------------------

    def authenticate(self, bind: BindRequest) -> int | None:
        self.stats.bind_attempts += 1
        if self.config.bind_mode == "ignore":
            return None
        expected = self.config.system_id
        if expected is not None and bind.system_id != expected:
            self.stats.bind_refusals += 1
            return CommandStatus.ESME_RINVSYSID
        if expected is not None and bind.password != (self.config.password or ""):
            self.stats.bind_refusals += 1
            return CommandStatus.ESME_RINVPASWD
        self.stats.binds += 1
        if self._senders:  # started: room for this bind's window of receipts too
            receivers = 1 + sum(
                connection.session.state in RECEIVING_STATES
                for connection in self._server.connections
            )
            self._add_receipt_senders(self.config.window * receivers)
        return CommandStatus.ESME_ROK

    def handle(self, connection: Connection, pdu: p.Pdu) -> HandlerResult:
        if isinstance(pdu, p.SubmitSm | p.DataSm):
            return self._submit(connection, pdu)
        if isinstance(pdu, p.QuerySm):
            return p.response_to(
                pdu,
                message_id=pdu.message_id,
                message_state=MessageState.DELIVERED,
            )
        if isinstance(pdu, p.SubmitMulti):
            self.stats.submits += len(pdu.dest_addresses)
            return p.response_to(pdu, message_id=self._new_message_id())
        if isinstance(pdu, p.CancelSm | p.ReplaceSm):
            return p.response_to(pdu)
        return p.response_to(pdu, CommandStatus.ESME_RINVCMDID)

    def connection_closed(self, connection: Connection) -> None:
        log.debug("%s closed", connection.name)

    def _submit(self, connection: Connection, pdu: p.SubmitSm | p.DataSm) -> p.Pdu:
        self._submit_count += 1
        config = self.config
        if config.throttle_every and self._submit_count % config.throttle_every == 0:
            self.stats.throttled += 1
            return p.response_to(pdu, CommandStatus.ESME_RTHROTTLED)
        if config.fail_ratio and self._rng.random() < config.fail_ratio:
            self.stats.failed += 1
            return p.response_to(pdu, config.fail_status)
        short_message = pdu.short_message if isinstance(pdu, p.SubmitSm) else b""
        if not short_message:
            payload = pdu.tlv(TlvTag.MESSAGE_PAYLOAD)
            short_message = payload if isinstance(payload, bytes) else b""
        key = submit_key(pdu.source_addr, pdu.destination_addr, short_message)
        if key in self._seen:
            self.stats.duplicates += 1
            if key not in self._repeated:
                self._repeated.add(key)
                self.stats.duplicate_messages += 1
        else:
            self._seen.add(key)
        self.stats.submits += 1
        message_id = self._new_message_id()
        if config.send_receipts and pdu.registered_delivery & _RECEIPT_ASKED:
            state = config.receipts.choose(self._rng)
            always = pdu.registered_delivery & _RECEIPT_ALWAYS
            if always or state is not MessageState.DELIVERED:
                receipt = _PendingReceipt(
                    system_id=connection.session.system_id,
                    message_id=message_id,
                    state=state,
                    source_addr=pdu.destination_addr,
                    destination_addr=pdu.source_addr,
                    submitted_at=datetime.now(UTC),
                    text=short_message[:20].decode("latin-1"),
                )
                self.stats.receipts_pending += 1
                self._delay(receipt)
        return p.response_to(pdu, message_id=message_id)

    def _delay(self, receipt: _PendingReceipt) -> None:
        loop = asyncio.get_running_loop()
        self._delayed.append((loop.time() + self.config.dlr_delay_ms / 1000, receipt))
        if self._delay_timer is None:
            self._delay_timer = loop.call_at(self._delayed[0][0], self._release_delayed)

    def _release_delayed(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            self._receipts.put_nowait(delayed.popleft()[1])
        self._delay_timer = loop.call_at(delayed[0][0], self._release_delayed) if delayed else None

    def _new_message_id(self) -> str:
        self._next_id += 1
        return format(self._next_id, "x")

    # Receipts -----------------------------------------------------------------------

    def _receipt_due(self, receipt: _PendingReceipt) -> None:
        self._receipts.put_nowait(receipt)

    def _receiver_for(self, system_id: str) -> Connection | None:
        """The bound receiver of that account with the most room in its window."""
        candidates = [
            connection
            for connection in self._server.connections
            if connection.session.state in RECEIVING_STATES
            and connection.session.system_id == system_id
        ]
        return max(candidates, key=lambda c: c.session.window_free, default=None)

    async def _send_receipts(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            receipt = await self._receipts.get()
            connection = self._receiver_for(receipt.system_id)
            if connection is None:
                # Nobody to deliver to yet: the SMSC keeps it, and this sender rests
                # before looking again (re-queuing every receipt ten times a second
                # kept a large backlog spinning through the loop).
                self._receipts.put_nowait(receipt)
                await asyncio.sleep(RECEIPT_RETRY_DELAY / 10)
                continue
            self.stats.receipts_sent += 1
            outcome = await connection.request(self._receipt_pdu(receipt))
            if outcome.ok:
                self.stats.receipts_acked += 1
                self.stats.receipts_pending -= 1
            else:
                self.stats.receipts_rejected += 1
                log.info("receipt %s not acknowledged: %s", receipt.message_id, outcome.describe())
                loop.call_later(RECEIPT_RETRY_DELAY, self._receipt_due, receipt)

    @staticmethod
    def _receipt_pdu(receipt: _PendingReceipt) -> p.DeliverSm:
        now = datetime.now(UTC)
        text = format_receipt_text(
            receipt.message_id,
            receipt.state,
            submit_date=receipt.submitted_at,
            done_date=now,
            error=0 if receipt.state is MessageState.DELIVERED else 1,
            text=receipt.text,
        )
        return p.DeliverSm(
            source_addr=receipt.source_addr,
            destination_addr=receipt.destination_addr,
            esm_class=EsmClass.SMSC_DELIVERY_RECEIPT,
            short_message=text.encode("latin-1"),
            tlvs=(
                p.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, receipt.message_id),
                p.Tlv(TlvTag.MESSAGE_STATE, int(receipt.state)),
            ),
        )
