"""The delivery guarantee under crashes: clients send N messages through the HTTP API
while the Chatti process is killed with SIGKILL several times and restarted. At the end
the simulator (a separate process) has received every accepted message at least once;
every duplicate it saw is one we flagged as possible."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from chatti.simulator.smsc import submit_key
from tests.databases import ENGINES, database_url_for
from tests.faults.conftest import SimulatorProcess
from tests.helpers import wait_until
from tests.servers import ChattiServer

MESSAGES = int(os.environ.get("CHATTI_FAULT_MESSAGES", "20000"))
BATCH = 100
CLIENTS = 4
KILLS = 3


def text_of(number: int) -> str:
    return f"crash test message {number}"


def to_of(number: int) -> str:
    return f"+49151{number:08d}"


def send_batches(server: ChattiServer, batches: list[int], accepted: dict[int, str]) -> None:
    """Post each batch until it is answered 202; the Idempotency-Key makes a retry after a
    crash safe whether or not the first try was committed."""
    for first in batches:
        payload = {
            "messages": [
                {"to": to_of(n), "from": "Chatti", "text": text_of(n)}
                for n in range(first, min(MESSAGES, first + BATCH))
            ]
        }
        headers = {
            "Idempotency-Key": f"batch-{first}",
            "Authorization": f"Bearer {server.admin_key}",
        }
        while True:
            try:
                reply = httpx.post(
                    f"{server.base_url}/v1/messages/batch",
                    json=payload,
                    headers=headers,
                    timeout=30,
                )
            except httpx.HTTPError:
                time.sleep(0.2)  # the server is down or died mid-request: same batch again
                continue
            if reply.status_code == 202:
                for offset, result in enumerate(reply.json()["results"]):
                    accepted[first + offset] = result["id"]
                break
            time.sleep(0.2)  # 503 while starting or stopping


@pytest.mark.parametrize("engine", ENGINES)
def test_sigkill_while_sending_loses_no_accepted_message(
    engine: str, tmp_path: Path, simulator_process: SimulatorProcess
) -> None:
    rng = random.Random(7)
    config = simulator_process.carrier_config() + (
        '\n[[routes]]\nmatch = "*"\ncarriers = ["sim"]\n\n[sending]\nlease_seconds = 15\n'
    )
    with database_url_for(engine, tmp_path) as url:
        server = ChattiServer(tmp_path, url, extra_config=config)
        server.start()
        accepted: dict[int, str] = {}
        starts = list(range(0, MESSAGES, BATCH))
        clients = [
            threading.Thread(target=send_batches, args=(server, starts[i::CLIENTS], accepted))
            for i in range(CLIENTS)
        ]
        started = time.monotonic()
        for thread in clients:
            thread.start()
        kills = 0
        while kills < KILLS and any(thread.is_alive() for thread in clients):
            time.sleep(rng.uniform(0.5, 2.0))
            server.kill()
            kills += 1
            server.start()
        for thread in clients:
            thread.join(300)
        try:
            with server.client(server.admin_key) as admin:

                def pending() -> int:
                    return int(admin.get("/v1/admin/sla").json()["pending"])

                wait_until(lambda: pending() == 0, 180, "every accepted message submitted")
                report = admin.get("/v1/admin/sla").json()
        finally:
            server.stop()
        elapsed = time.monotonic() - started
    seen = set(simulator_process.get("/seen")["keys"])
    lost = [
        n
        for n in accepted
        if submit_key("Chatti", to_of(n).lstrip("+"), text_of(n).encode()).hex() not in seen
    ]
    stats = simulator_process.get("/stats")
    duplicates, duplicated = stats["duplicates"], stats["duplicate_messages"]
    print(
        f"\n{engine}: {len(accepted)} accepted, {kills} SIGKILLs, {elapsed:.0f} s;"
        f" lost {len(lost)}, duplicates at the carrier {duplicates} ({duplicated} messages),"
        f" flagged possible duplicates {report['possible_duplicates']}"
    )
    assert kills == KILLS
    assert len(accepted) == MESSAGES
    assert lost == []
    assert report["guarantee_holds"]
    assert report["submitted"] + report["failed"] == report["accepted"]
    assert duplicated <= report["possible_duplicates"]  # every message sent twice is flagged
