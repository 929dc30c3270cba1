from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chatti.bench.ports import free_port
from chatti.bench.processes import carrier_toml, start_simulator


@dataclass
class SimulatorProcess:
    """`chatti simulator` in its own process: it outlives the Chatti processes a fault
    test kills, and counts what reached it."""

    port: int
    stats_port: int
    process: subprocess.Popen[bytes]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.stats_port}{path}", timeout=10
        ) as reply:
            return json.load(reply)

    def post(self, path: str) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.stats_port}{path}", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)

    def carrier_config(self, name: str = "sim") -> str:
        return carrier_toml(self.port, name=name, route=False)


def start_simulator_process(*options: str) -> SimulatorProcess:
    port, stats_port = free_port(), free_port()
    return SimulatorProcess(port, stats_port, start_simulator(port, stats_port, *options))


@pytest.fixture
def simulator_process() -> Iterator[SimulatorProcess]:
    running = start_simulator_process("--dlr-delay-ms", "20")
    try:
        yield running
    finally:
        running.process.terminate()
        running.process.wait(10)
