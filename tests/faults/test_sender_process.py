"""`chatti serve` runs its carrier side in a second process: that process dies with the
node, comes back when it dies alone, and messages keep flowing through both events."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from chatti.bench.processes import carrier_toml, child_processes
from tests.faults.conftest import SimulatorProcess
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


def _send_and_wait_delivered(server: ChattiServer, count: int, text: str = "hi") -> None:
    with server.client(server.admin_key) as client:
        numbers = [f"+491511{n:07d}" for n in range(count)]
        reply = client.post(
            "/v1/messages/batch",
            json={"messages": [{"to": to, "from": "Chatti", "text": text} for to in numbers]},
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


def test_two_sender_processes_share_the_work_without_sending_twice(tmp_path: Path) -> None:
    server = ChattiServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'chatti.db'}",
        extra_config="\n[sending]\nprocesses = 2\nhelper_backlog = 0\n",  # both always bound
    )
    server.start()
    try:
        assert server.process is not None
        children = child_processes(server.process.pid)
        assert {"sender process", "sender process 2"} <= set(children)
        with server.client() as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 10, "ready")
            carriers = client.get("/readyz").json()["checks"]["carriers"]
        assert carriers
        assert all(c["bound"] and c["binds"] == 2 for c in carriers.values())  # one per process
        _send_and_wait_delivered(server, 200)
        with server.client(server.admin_key) as client:
            messages = client.get("/v1/messages", params={"limit": 1000}).json()["messages"]
        assert len(messages) == 200
        assert all(message["status"] == "delivered" for message in messages)
        # each message was submitted once: one submitted step in its history
        for message in messages[:20]:
            with server.client(server.admin_key) as client:
                history = client.get(f"/v1/messages/{message['id']}").json()["history"]
            assert [step["status"] for step in history].count("submitted") == 1
    finally:
        assert server.stop(signal.SIGTERM) == 0


def _two_sender_processes(
    tmp_path: Path, simulator: SimulatorProcess, *, binds: int
) -> ChattiServer:
    """A started node with two sender processes, both always bound, and one carrier of
    `binds` binds."""
    server = ChattiServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'chatti.db'}",
        extra_config="\n[sending]\nprocesses = 2\nhelper_backlog = 0\n\n"
        + carrier_toml(simulator.port, binds=binds),
    )
    server.start()
    return server


def test_sender_processes_share_a_carriers_binds_out(
    tmp_path: Path, simulator_process: SimulatorProcess
) -> None:
    """binds = 3 with two sender processes: the carrier sees three binds, not six."""
    server = _two_sender_processes(tmp_path, simulator_process, binds=3)
    try:
        with server.client() as client:
            wait_until(
                lambda: (
                    client.get("/readyz")
                    .json()["checks"]["carriers"]["sim"]
                    .get("bound_connections")
                    == 3
                ),
                10,
                "three binds bound",
            )
            carrier = client.get("/readyz").json()["checks"]["carriers"]["sim"]
        assert carrier["connections"] == 3
        assert simulator_process.get("/stats")["binds"] == 3
        _send_and_wait_delivered(server, 200)
        stats = simulator_process.get("/stats")
        assert (stats["submits"], stats["duplicates"]) == (200, 0)
        assert stats["binds"] == 3  # nobody bound again
    finally:
        assert server.stop(signal.SIGTERM) == 0


def test_a_carrier_with_fewer_binds_than_sender_processes_gets_no_more(
    tmp_path: Path, simulator_process: SimulatorProcess
) -> None:
    """binds = 1 with two sender processes: the second stays unbound, even for a
    backlog, and the first says why."""
    server = _two_sender_processes(tmp_path, simulator_process, binds=1)
    try:
        with server.client() as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 10, "ready")
        _send_and_wait_delivered(server, 200)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    stats = simulator_process.get("/stats")
    assert (stats["binds"], stats["submits"], stats["duplicates"]) == (1, 200, 0)
    log = (tmp_path / "serve.log").read_text()
    assert log.count("carrier sim grants 1 bind(s): 1 of the 2 sender processes hold binds") == 1


def test_the_second_sender_process_binds_only_while_a_backlog_waits(
    tmp_path: Path, simulator_process: SimulatorProcess
) -> None:
    """[sending] helper_backlog: the second process stays unbound for a trickle, binds
    its share for a backlog (the carrier's max_tps keeps one process from draining it
    at once), and unbinds after helper_linger_seconds."""
    server = ChattiServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'chatti.db'}",
        extra_config="\n[sending]\nprocesses = 2\nhelper_backlog = 100\n"
        "helper_linger_seconds = 1\n\n"
        + carrier_toml(simulator_process.port, binds=2, max_tps=400),
        log_level="info",
    )
    server.start()
    try:
        with server.client() as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 10, "ready")
        _send_and_wait_delivered(server, 20)
        assert simulator_process.get("/stats")["bound_now"] == 1  # a trickle: one process
        _send_and_wait_delivered(server, 1000, "a backlog")
        wait_until(
            lambda: simulator_process.get("/stats")["bound_now"] == 1, 10, "the helper unbound"
        )
        stats = simulator_process.get("/stats")
        assert (stats["submits"], stats["duplicates"]) == (1020, 0)
        assert stats["binds"] == 2  # the first process's, and the helper's once
    finally:
        assert server.stop(signal.SIGTERM) == 0
    log = (tmp_path / "serve.log").read_text()
    assert log.count("messages due: binding to help send them") == 1
    assert log.count("unbinding") == 1
