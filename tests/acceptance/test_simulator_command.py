"""`chatti simulator` run as a user runs it: a subprocess, its HTTP counts, SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from chatti.bench.ports import free_port_pair, wait_for_port
from chatti.smpp import pdu as p
from chatti.smpp.client import ClientConfig, SmppClient
from chatti.smpp.receipts import parse_receipt
from tests.helpers import eventually, wait_until


def http(method: str, url: str) -> dict[str, object]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as reply:
        result: dict[str, object] = json.load(reply)
        return result


@pytest.fixture
def simulator_process() -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    port = free_port_pair()  # the stats port defaults to port + 1
    command = [
        sys.executable,
        "-m",
        "chatti",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dlr-delay-ms",
        "10",
        "--dlr-ratio",
        "0:1:0",
        "--throttle-every",
        "0",
        "--fail-ratio",
        "0",
        "--system-id",
        "acme",
        "--password",
        "pw",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        wait_for_port(port + 1)
        yield process, port, port + 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_counts_served_as_json_and_printed_on_sigint(
    simulator_process: tuple[subprocess.Popen[str], int, int],
) -> None:
    process, port, stats_port = simulator_process
    states: list[str] = []

    async def send_two() -> None:
        async def on_deliver(pdu: p.DeliverSm | p.DataSm) -> int:
            receipt = parse_receipt(pdu)
            states.append(receipt.stat if receipt else "?")
            return 0

        config = ClientConfig("127.0.0.1", port, "acme", "pw")
        async with SmppClient(config, on_deliver) as client:
            assert await client.wait_bound(5)
            for _ in range(2):  # the same text twice: one duplicate
                submit = p.SubmitSm(
                    destination_addr="4915100000001", short_message=b"same", registered_delivery=1
                )
                assert (await client.request(submit)).ok
            await eventually(lambda: len(states) == 2, 10, "both receipts")

    asyncio.run(send_two())
    assert states == ["UNDELIV", "UNDELIV"]
    wait_until(lambda: http("GET", f"http://127.0.0.1:{stats_port}/stats")["receipts_acked"] == 2)
    stats = http("GET", f"http://127.0.0.1:{stats_port}/stats")
    for key in ("binds", "submits", "duplicates", "receipts_sent", "receipts_acked"):
        assert key in stats
    assert (stats["binds"], stats["submits"], stats["duplicates"]) == (1, 2, 1)
    assert http("POST", f"http://127.0.0.1:{stats_port}/down") == {"up": False}
    assert http("GET", f"http://127.0.0.1:{stats_port}/stats")["up"] is False
    assert http("POST", f"http://127.0.0.1:{stats_port}/up") == {"up": True}
    wait_for_port(port)

    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    final = json.loads(out.strip().splitlines()[-1])
    assert final["submits"] == 2


def test_bad_http_request_gets_400_and_server_lives_on(
    simulator_process: tuple[subprocess.Popen[str], int, int],
) -> None:
    import socket

    _, _, stats_port = simulator_process
    with socket.create_connection(("127.0.0.1", stats_port), timeout=5) as sock:
        sock.sendall(b"\x00\x01garbage\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert "submits" in http("GET", f"http://127.0.0.1:{stats_port}/stats")


def test_bad_options_are_refused_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatti", "simulator", "--dlr-ratio", "lots"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--dlr-ratio" in result.stderr
    assert "Traceback" not in result.stderr
