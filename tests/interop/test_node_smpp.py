"""Our client against an SMSC built on the npm package `smpp` (node-smpp)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from chatti.smpp import pdu as p
from chatti.smpp.client import ClientConfig, SmppClient
from chatti.smpp.connection import OutcomeKind
from chatti.smpp.constants import CommandStatus, MessageState
from chatti.smpp.receipts import parse_receipt
from chatti.text import encode
from tests.helpers import eventually
from tests.interop.conftest import HERE, require_node_smpp

pytestmark = [pytest.mark.asyncio, pytest.mark.interop]


class NodeSmsc:
    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, str(HERE / "node_smsc.js"), "0"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(HERE),
        )
        first = self.read_event()
        assert first["event"] == "listening", first
        self.port = int(str(first["port"]))

    def read_event(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "node SMSC exited"
        event: dict[str, object] = json.loads(line)
        return event

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


async def test_submit_and_receipts_against_node_smpp() -> None:
    smsc = NodeSmsc(require_node_smpp())
    try:
        receipts: list[str] = []

        async def on_deliver(pdu: p.DeliverSm | p.DataSm) -> int:
            receipt = parse_receipt(pdu)
            assert receipt is not None
            assert receipt.state is MessageState.DELIVERED
            receipts.append(receipt.message_id)
            return CommandStatus.ESME_ROK

        config = ClientConfig("127.0.0.1", smsc.port, "chatti", "secret", window=20)
        async with SmppClient(config, on_deliver) as client:
            assert await client.wait_bound(5)
            encoded = encode("Grüße aus Chatti")
            outcomes = await asyncio.gather(
                *(
                    client.request(
                        p.SubmitSm(
                            source_addr="Chatti",
                            destination_addr=f"4915100000{n:03d}",
                            data_coding=encoded.data_coding,
                            registered_delivery=1,
                            short_message=encoded.segments[0].short_message,
                        )
                    )
                    for n in range(50)
                )
            )
            assert all(outcome.ok for outcome in outcomes), [o.describe() for o in outcomes]
            ids = sorted(o.response.message_id for o in outcomes)  # type: ignore[union-attr]
            await eventually(lambda: len(receipts) == 50, 10, "50 receipts")
            assert sorted(receipts) == ids
        events = [smsc.read_event() for _ in range(1 + 50 + 50)]
        assert sum(e["event"] == "submit" for e in events) == 50
        acked = [e for e in events if e["event"] == "receipt_acked"]
        assert len(acked) == 50
        assert all(e["status"] == 0 for e in acked)
    finally:
        smsc.close()


async def test_refused_bind_against_node_smpp() -> None:
    smsc = NodeSmsc(require_node_smpp())
    try:
        config = ClientConfig("127.0.0.1", smsc.port, "chatti", "wrong", reconnect_initial=5)
        async with SmppClient(config) as client:
            assert not await client.wait_bound(1)
            assert "ESME_RBINDFAIL" in client.last_error
            assert (await client.request(p.SubmitSm())).kind is OutcomeKind.NOT_BOUND
    finally:
        smsc.close()
