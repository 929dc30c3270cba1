"""Our ESME client against our simulator, over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from chatti.simulator import Simulator, SimulatorConfig
from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp.client import BindType, ClientConfig, SmppClient
from chatti.smpp.connection import OutcomeKind
from chatti.smpp.constants import CommandStatus, MessageState
from chatti.smpp.receipts import parse_receipt
from tests.helpers import eventually

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def simulator(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    options = getattr(request, "param", {})
    config = SimulatorConfig(port=0, dlr_delay_ms=5, seed=1, **options)
    sim = Simulator(config)
    await sim.start()
    yield sim
    await sim.stop()


def client_config(sim: Simulator, **options: object) -> ClientConfig:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": sim.port,
        "system_id": "acme",
        "password": "secret",
        "window": 100,
        "reconnect_initial": 0.05,
        "reconnect_maximum": 0.2,
    }
    base.update(options)
    return ClientConfig(**base)  # type: ignore[arg-type]


def submit(number: int, registered_delivery: int = 1) -> p.SubmitSm:
    return p.SubmitSm(
        source_addr="Chatti",
        destination_addr=f"49151{number:08d}",
        registered_delivery=registered_delivery,
        short_message=f"message {number}".encode(),
    )


async def test_ten_thousand_messages_with_window_100_all_answered_and_receipted(
    simulator: Simulator,
) -> None:
    receipts: list[str] = []

    async def on_deliver(pdu: p.DeliverSm | p.DataSm) -> int:
        receipt = parse_receipt(pdu)
        assert receipt is not None
        assert receipt.state is MessageState.DELIVERED
        receipts.append(receipt.message_id)
        return CommandStatus.ESME_ROK

    async with SmppClient(client_config(simulator), on_deliver) as client:
        assert await client.wait_bound(5)
        outcomes = await asyncio.gather(*(client.request(submit(n)) for n in range(10_000)))
        assert all(outcome.ok for outcome in outcomes)
        ids = {outcome.response.message_id for outcome in outcomes}  # type: ignore[union-attr]
        assert len(ids) == 10_000
        await eventually(lambda: len(receipts) == 10_000, 30, "all receipts delivered")
        assert set(receipts) == ids
        await eventually(lambda: simulator.stats.receipts_acked == 10_000, 10)
    stats = simulator.stats
    assert (stats.submits, stats.duplicates, stats.receipts_sent) == (10_000, 0, 10_000)
    assert stats.receipts_pending == 0


@pytest.mark.parametrize("simulator", [{"system_id": "acme", "password": "secret"}], indirect=True)
async def test_bind_credentials_are_checked(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator, password="wrong")) as refused:
        assert not await refused.wait_bound(0.5)
        await eventually(lambda: "ESME_RINVPASWD" in refused.last_error, 5)
        outcome = await refused.request(submit(1))
        assert outcome.kind is OutcomeKind.NOT_BOUND
    async with SmppClient(client_config(simulator)) as accepted:
        assert await accepted.wait_bound(5)
        assert (await accepted.request(submit(1))).ok
    assert simulator.stats.bind_refusals >= 1


class HeldReceipts:
    """A receipt handler that keeps every receipt unanswered until `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[p.Pdu] = []

    async def __call__(self, pdu: p.DeliverSm | p.DataSm) -> int:
        self.seen.append(pdu)
        await self.release.wait()
        return CommandStatus.ESME_ROK


async def test_receipt_acknowledged_only_after_the_handler_returns(simulator: Simulator) -> None:
    held = HeldReceipts()
    async with SmppClient(client_config(simulator), held) as client:
        assert await client.wait_bound(5)
        assert (await client.request(submit(1))).ok
        await eventually(lambda: len(held.seen) == 1, 5, "receipt reached the handler")
        await asyncio.sleep(0.1)  # give a wrong early acknowledgement time to show
        assert simulator.stats.receipts_acked == 0
        held.release.set()
        await eventually(lambda: simulator.stats.receipts_acked == 1, 5)


async def test_failing_handler_makes_the_carrier_deliver_again(simulator: Simulator) -> None:
    calls = 0

    async def flaky(pdu: p.DeliverSm | p.DataSm) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database unavailable")
        return CommandStatus.ESME_ROK

    async with SmppClient(client_config(simulator), flaky) as client:
        assert await client.wait_bound(5)
        assert (await client.request(submit(1))).ok
        await eventually(lambda: simulator.stats.receipts_acked == 1, 10)
    assert simulator.stats.receipts_rejected == 1
    assert calls == 2


@pytest.mark.parametrize("simulator", [{"throttle_every": 7}], indirect=True)
async def test_throttling_slows_down_and_loses_nothing(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator)) as client:
        assert await client.wait_bound(5)
        outcomes = await asyncio.gather(
            *(client.request(submit(n, registered_delivery=0)) for n in range(300))
        )
    assert all(outcome.ok for outcome in outcomes)
    assert simulator.stats.throttled > 0
    assert simulator.stats.submits == 300
    assert simulator.stats.duplicates == 0


@pytest.mark.parametrize("simulator", [{"fail_ratio": 1.0}], indirect=True)
async def test_refused_submit_reports_the_carrier_status(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator)) as client:
        assert await client.wait_bound(5)
        outcome = await client.request(submit(1))
    assert outcome.kind is OutcomeKind.ERROR
    assert outcome.command_status == CommandStatus.ESME_RSUBMITFAIL
    assert simulator.stats.failed == 1


async def test_dropped_connection_reports_in_flight_and_rebinds(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator)) as client:
        assert await client.wait_bound(5)
        pending = [asyncio.create_task(client.request(submit(n))) for n in range(500)]
        await asyncio.sleep(0)
        simulator.drop_connections()
        outcomes = await asyncio.gather(*pending)
        kinds = {outcome.kind for outcome in outcomes}
        assert kinds <= {OutcomeKind.OK, OutcomeKind.CONNECTION_LOST, OutcomeKind.NOT_BOUND}
        await eventually(lambda: client.binds == 2 and client.is_bound, 5, "rebound")
        assert (await client.request(submit(9999))).ok


async def test_carrier_down_then_back(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator)) as client:
        assert await client.wait_bound(5)
        await simulator.go_down()
        await eventually(lambda: not client.is_bound, 5, "client noticed the outage")
        assert (await client.request(submit(1))).kind is OutcomeKind.NOT_BOUND
        await simulator.come_up()
        assert await client.wait_bound(5)
        assert (await client.request(submit(2))).ok


@pytest.mark.parametrize("simulator", [{"bind_mode": "ignore"}], indirect=True)
async def test_bind_that_is_never_answered_times_out(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator, bind_timeout=0.2)) as client:
        assert not await client.wait_bound(0.6)
        await eventually(lambda: "bind refused: timeout" in client.last_error, 5)


async def test_garbage_from_one_peer_does_not_disturb_another(simulator: Simulator) -> None:
    async with SmppClient(client_config(simulator)) as client:
        assert await client.wait_bound(5)
        reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
        writer.write(b"\x00\x00\x00\x05garbage that is not SMPP")
        answer = await asyncio.wait_for(reader.read(1024), 5)
        nack = codec.decode(answer[:16])
        assert nack.command_status == CommandStatus.ESME_RINVCMDLEN
        assert await asyncio.wait_for(reader.read(1024), 5) == b""  # closed after the nack
        writer.close()
        assert (await client.request(submit(1))).ok


async def test_transmitter_and_receiver_binds_share_the_receipts(simulator: Simulator) -> None:
    got: list[str] = []

    async def on_deliver(pdu: p.DeliverSm | p.DataSm) -> int:
        receipt = parse_receipt(pdu)
        got.append(receipt.message_id if receipt else "")
        return 0

    tx = SmppClient(client_config(simulator, bind_type=BindType.TRANSMITTER))
    rx = SmppClient(client_config(simulator, bind_type=BindType.RECEIVER), on_deliver)
    async with tx, rx:
        assert await tx.wait_bound(5)
        assert await rx.wait_bound(5)
        outcome = await tx.request(submit(1))
        assert (await rx.request(submit(2))).kind is OutcomeKind.NOT_BOUND
        await eventually(lambda: len(got) == 1, 5)
    assert got == [outcome.response.message_id]  # type: ignore[union-attr]


async def test_request_timeout_is_reported(simulator: Simulator) -> None:
    class Silent:
        def authenticate(self, bind: object) -> int:
            return 0

        def handle(self, connection: object, pdu: p.Pdu) -> None:
            return None  # never answers submits

        def connection_closed(self, connection: object) -> None:
            pass

    from chatti.smpp.server import SmppServer

    server = SmppServer(Silent(), port=0)
    await server.start()
    try:
        config = ClientConfig("127.0.0.1", server.port, "x", response_timeout=0.2)
        async with SmppClient(config) as client:
            assert await client.wait_bound(5)
            outcome = await client.request(submit(1))
            assert outcome.kind is OutcomeKind.TIMEOUT
            assert outcome.may_have_been_delivered
    finally:
        await server.stop()


@pytest.mark.parametrize("simulator", [{"window": 3}], indirect=True)
async def test_each_bind_gets_a_full_window_of_receipts(simulator: Simulator) -> None:
    """Receipts held unacknowledged fill every bind's window, not one window in all."""
    held = HeldReceipts()
    first = SmppClient(client_config(simulator), held)
    second = SmppClient(client_config(simulator), held)
    async with first, second:
        assert await first.wait_bound(5)
        assert await second.wait_bound(5)
        for number in range(10):
            assert (await first.request(submit(number))).ok
        await eventually(lambda: len(held.seen) == 6, 5, "two windows of 3 receipts in flight")
        await asyncio.sleep(0.1)  # a seventh would show now
        assert len(held.seen) == 6
        held.release.set()
        await eventually(lambda: simulator.stats.receipts_acked == 10, 5)
