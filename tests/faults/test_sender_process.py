"""`chatti serve` runs its carrier side in a second process: that process dies with the
node, comes back when it dies alone, and messages keep flowing through both events."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from chatti.bench.processes import child_processes
from tests.helpers import wait_until
from tests.servers import ChattiServer


def _sender_pid(server: ChattiServer) -> int | None:
    assert server.process is not None
    return child_processes(server.process.pid).get("sender process")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _send_and_wait_delivered(server: ChattiServer, count: int) -> None:
    with server.client(server.admin_key) as client:
        numbers = [f"+491511{n:07d}" for n in range(count)]
        reply = client.post(
            "/v1/messages/batch",
            json={"messages": [{"to": to, "from": "Chatti", "text": "hi"} for to in numbers]},
        )
        assert reply.status_code == 202, reply.text
        ids = [item["id"] for item in reply.json()["results"]]

        def delivered() -> bool:
            return all(
                client.get(f"/v1/messages/{message_id}").json()["status"] == "delivered"
                for message_id in ids
            )

        wait_until(delivered, 20, f"{count} messages delivered")


def test_the_sender_process_dies_with_the_node(tmp_path: Path) -> None:
    server = ChattiServer(tmp_path, f"sqlite:///{tmp_path / 'chatti.db'}")
    server.start()
    sender = _sender_pid(server)
    assert sender is not None
    assert _alive(sender)
    server.kill()
    wait_until(lambda: not _alive(sender), 5, "the sender process gone with its node")


def test_a_dead_sender_process_is_restarted_and_sending_goes_on(tmp_path: Path) -> None:
    server = ChattiServer(tmp_path, f"sqlite:///{tmp_path / 'chatti.db'}")
    server.start()
    try:
        with server.client() as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 10, "ready")
        _send_and_wait_delivered(server, 20)
        first = _sender_pid(server)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        with server.client() as client:
            wait_until(
                lambda: (
                    _sender_pid(server) not in (None, first)
                    and client.get("/readyz").status_code == 200
                ),
                15,
                "a new sender process, bound",
            )
        _send_and_wait_delivered(server, 20)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert "starting it again" in (tmp_path / "serve.log").read_text()
