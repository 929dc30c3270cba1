"""The PyPI package smpplib, as an ESME, binding to our simulator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import smpplib.client
import smpplib.consts

from chatti.simulator import Simulator, SimulatorConfig
from chatti.smpp.receipts import parse_receipt_text
from tests.helpers import wait_until

pytestmark = pytest.mark.interop


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    started = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            sim = Simulator(SimulatorConfig(port=0, dlr_delay_ms=5, system_id="lib", password="pw"))
            await sim.start()
            holder["sim"], holder["stop"] = sim, asyncio.Event()
            holder["loop"] = asyncio.get_running_loop()
            started.set()
            await holder["stop"].wait()
            await sim.stop()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    yield holder["sim"]
    holder["loop"].call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


def test_smpplib_binds_submits_and_receives_receipts(simulator: Simulator) -> None:
    client = smpplib.client.Client(
        "127.0.0.1", simulator.port, timeout=5, allow_unknown_opt_params=True
    )
    sent: list[str] = []
    receipts: list[dict[str, str]] = []

    def on_sent(pdu: Any, **_: Any) -> None:
        sent.append(pdu.message_id.decode())

    def on_received(pdu: Any, **_: Any) -> int:
        receipts.append(parse_receipt_text(pdu.short_message.decode("latin-1")))
        return 0

    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.connect()
    try:
        client.bind_transceiver(system_id="lib", password="pw")
        for number in range(20):
            client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr="Chatti",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                destination_addr=f"4915100000{number:03d}",
                short_message=f"hello {number}".encode(),
                registered_delivery=True,
            )
        while len(sent) < 20 or len(receipts) < 20:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    assert sorted(sent) == sorted(r["id"] for r in receipts)
    assert {r["stat"] for r in receipts} == {"DELIVRD"}
    assert simulator.stats.submits == 20
    wait_until(lambda: simulator.stats.receipts_acked == 20, 5, "20 receipts acknowledged")


def test_smpplib_with_wrong_password_is_refused(simulator: Simulator) -> None:
    client = smpplib.client.Client(
        "127.0.0.1", simulator.port, timeout=5, allow_unknown_opt_params=True
    )
    client.connect()
    try:
        with pytest.raises(smpplib.exceptions.PDUError) as caught:
            client.bind_transmitter(system_id="lib", password="nope")
        assert caught.value.args[1] == smpplib.consts.SMPP_ESME_RINVPASWD
    finally:
        client.disconnect()
