"""`chatti serve`: it takes its API port before it starts anything else, and its
processes run with the tuned garbage collector."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from chatti import collector
from chatti.bench.processes import child_processes
from chatti.config import default_sender_processes
from tests.servers import ChattiServer


def test_a_port_in_use_stops_serve_before_anything_starts(tmp_path: Path) -> None:
    """The port is bound first: a busy one fails at once, and the embedded simulator,
    started later on a port the kernel picks, can never be given the API's port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "chatti",
                "serve",
                "--data-dir",
                str(tmp_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            capture_output=True,
            timeout=60,
        )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode != 0
    assert "address already in use" in output.lower()
    assert not (tmp_path / "chatti.db").exists()  # no migration ran, no simulator started


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on 127.0.0.1:port (Linux /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            inodes.add(inode)
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def test_the_sender_process_does_not_hold_the_api_socket(tmp_path: Path) -> None:
    """Else the port outlives a killed node (the child holds it until it dies too), and
    a restart on the same port fails or talks to a socket nobody accepts on."""
    server = ChattiServer(tmp_path, f"sqlite:///{tmp_path / 'chatti.db'}")
    server.start()
    try:
        assert server.process is not None
        sender = child_processes(server.process.pid).get("sender process")
        assert sender is not None
        listening = _listening_inodes(server.port)
        assert listening <= _socket_inodes(server.process.pid)  # the API process's own
        assert not listening & _socket_inodes(sender)
    finally:
        assert server.stop(signal.SIGTERM) == 0


def test_the_node_processes_run_with_the_tuned_garbage_collector(tmp_path: Path) -> None:
    """The API process tunes it once its lifespan has started the node, each sender
    process once it has imported what it runs (chatti.collector)."""
    server = ChattiServer(tmp_path, f"sqlite:///{tmp_path / 'chatti.db'}", log_level="info")
    server.start()
    senders = default_sender_processes()
    try:
        assert server.output is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = [
                line
                for line in server.output.read_text().splitlines()
                if "garbage collector:" in line
            ]
            if len(lines) == 1 + senders:
                break
            time.sleep(0.1)
        assert len(lines) == 1 + senders, server.output.read_text()
        assert sum("[sender]" in line for line in lines) == senders
        assert all(f"young threshold {collector.YOUNG_THRESHOLD}" in line for line in lines)
    finally:
        assert server.stop(signal.SIGTERM) == 0
