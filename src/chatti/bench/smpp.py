"""`chatti bench smpp`: how fast the SMPP layer is.

1. codec: submit_sm and deliver_sm encoded and decoded per second, in one process.
2. loopback: our client submitting to the simulator, started as a separate process,
   over TCP on 127.0.0.1 with a window of in-flight submits; every submit must be
   answered and the simulator's count must equal ours.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import urllib.request
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from chatti.bench.ports import free_port
from chatti.bench.processes import start_simulator
from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp.client import BindType, ClientConfig, SmppClient
from chatti.smpp.constants import EsmClass, TlvTag

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CodecFigures:
    submit_sm_per_second: float
    deliver_sm_per_second: float


@dataclass(frozen=True, slots=True)
class LoopbackFigures:
    messages: int
    window: int
    seconds: float
    submits_per_second: float
    answered_ok: int
    simulator_submits: int
    client_cpu_seconds: float


def sample_submit_sm() -> p.SubmitSm:
    return p.SubmitSm(
        sequence_number=42,
        source_addr_ton=5,
        source_addr="Chatti",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="4915112345678",
        registered_delivery=1,
        short_message=b"Your verification code is 493021. It expires in 10 minutes.",
    )


def sample_deliver_sm() -> p.DeliverSm:
    text = (
        b"id:1f3a9c sub:001 dlvrd:001 submit date:2611281200 done date:2611281200"
        b" stat:DELIVRD err:000 text:Your verification"
    )
    return p.DeliverSm(
        sequence_number=43,
        source_addr="4915112345678",
        destination_addr="Chatti",
        esm_class=EsmClass.SMSC_DELIVERY_RECEIPT,
        short_message=text,
        tlvs=(p.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "1f3a9c"), p.Tlv(TlvTag.MESSAGE_STATE, 2)),
    )


def bench_codec(rounds: int = 200_000) -> CodecFigures:
    def rate(message: p.Pdu) -> float:
        encode, decode = codec.encode, codec.decode
        started = time.perf_counter()
        for _ in range(rounds):
            decode(encode(message))
        return rounds / (time.perf_counter() - started)

    return CodecFigures(rate(sample_submit_sm()), rate(sample_deliver_sm()))


async def _submit_all(port: int, messages: int, window: int) -> tuple[float, int]:
    config = ClientConfig(
        "127.0.0.1", port, "bench", "bench", bind_type=BindType.TRANSMITTER, window=window
    )
    async with SmppClient(config) as client:
        if not await client.wait_bound(10):
            raise RuntimeError(f"could not bind to the simulator on port {port}")
        template = sample_submit_sm()
        remaining = iter(range(messages))
        answered_ok = 0

        async def worker() -> None:
            nonlocal answered_ok
            for number in remaining:
                outcome = await client.request(
                    p.SubmitSm(
                        source_addr=template.source_addr,
                        destination_addr=f"49151{number:08d}",
                        registered_delivery=0,
                        short_message=template.short_message,
                    )
                )
                answered_ok += outcome.ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(window)))
        return time.perf_counter() - started, answered_ok


def bench_loopback(messages: int = 50_000, window: int = 100) -> LoopbackFigures:
    port = free_port()
    stats_port = free_port()
    simulator = start_simulator(port, stats_port)
    try:
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        seconds, answered_ok = _run(_submit_all(port, messages, window))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats", timeout=5) as reply:
            stats = json.load(reply)
    finally:
        simulator.terminate()
        simulator.wait(10)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return LoopbackFigures(
        messages=messages,
        window=window,
        seconds=round(seconds, 3),
        submits_per_second=round(messages / seconds),
        answered_ok=answered_ok,
        simulator_submits=stats["submits"],
        client_cpu_seconds=round(cpu, 2),
    )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(messages: int, window: int, as_json: bool) -> int:
    codec_figures = bench_codec()
    loopback = bench_loopback(messages, window)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "codec": asdict(codec_figures),
        "loopback": asdict(loopback),
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(f"codec   submit_sm encode+decode  {codec_figures.submit_sm_per_second:>10,.0f}/s")
        print(f"codec   deliver_sm encode+decode {codec_figures.deliver_sm_per_second:>10,.0f}/s")
        print(
            f"loopback {loopback.messages:,} submits, window {loopback.window}:"
            f" {loopback.submits_per_second:,}/s in {loopback.seconds}s,"
            f" client CPU {loopback.client_cpu_seconds}s;"
            f" answered OK {loopback.answered_ok:,},"
            f" simulator counted {loopback.simulator_submits:,}"
        )
    lost = loopback.messages - loopback.simulator_submits
    return 0 if lost == 0 and loopback.answered_ok == loopback.messages else 1
