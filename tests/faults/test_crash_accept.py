"""A 202 means committed: clients post while the server is killed with SIGKILL, and
every message that got a 202 is in the database after restart."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from chatti.store import queries
from chatti.store.engine import Store
from tests.databases import ENGINES, database_url_for
from tests.helpers import wait_until
from tests.servers import ChattiServer

CLIENTS = 8
KILLS = 3


def post_until_refused(base_url: str, key: str, accepted: list[str], stop: threading.Event) -> None:
    number = 0
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        while not stop.is_set():
            number += 1
            try:
                reply = client.post(
                    "/v1/messages",
                    json={"to": "+4915112345678", "from": "Chatti", "text": f"crash test {number}"},
                )
            except httpx.HTTPError:
                return  # the server died under us: whatever had no 202 was never promised
            if reply.status_code == 202:
                accepted.append(reply.json()["id"])


async def stored_ids(url: str, wanted: list[str]) -> set[str]:
    store = Store(url)
    try:
        return await queries.message_ids_present(store, wanted)
    finally:
        await store.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_202_survives_sigkill(engine: str, tmp_path: Path) -> None:
    with database_url_for(engine, tmp_path) as url:
        server = ChattiServer(tmp_path, url)
        accepted: list[str] = []
        for _ in range(KILLS):
            server.start()
            stop = threading.Event()
            before = len(accepted)
            clients = [
                threading.Thread(
                    target=post_until_refused,
                    args=(server.base_url, server.admin_key, accepted, stop),
                )
                for _ in range(CLIENTS)
            ]
            for thread in clients:
                thread.start()
            try:
                # kill in the middle of the traffic, once a few hundred were accepted
                wait_until(lambda: len(accepted) - before >= 300, 30, "300 messages accepted")  # noqa: B023
            finally:
                server.kill()
                stop.set()
                for thread in clients:
                    thread.join(30)
        server.start()
        try:
            with server.client(server.admin_key) as client:
                # ready once the restarted node's carrier side has bound again
                wait_until(lambda: client.get("/readyz").status_code == 200, 10, "ready")
                assert client.get(f"/v1/messages/{accepted[-1]}").status_code == 200
        finally:
            server.stop()
        found = asyncio.run(stored_ids(url, accepted))
        lost = set(accepted) - found
        print(f"{engine}: {len(accepted)} accepted across {KILLS} SIGKILLs, lost {len(lost)}")
        assert len(accepted) >= KILLS * 300
        assert lost == set()
