"""The carrier side of a node in a process of its own, and its supervisor.

`chatti serve` runs the API and the webhook sender in its own process and starts
`python -m chatti.sender_process` beside it for the binds, the dispatcher and receipt
intake: one Python process is one core, and the two halves of the work are of similar
weight (docs/performance.md). They share the store; besides it, two pipes:

- the API writes a newline to the child's stdin when it committed new messages, so the
  dispatcher looks at once; end of file means the API process is gone, and the child
  stops (on Linux the kernel also kills it at once, as a crash of the node would);
- the child writes one JSON line a second to its stdout with its binds' state, which
  /readyz reports.

The supervisor restarts a child that died (it takes back its own claims at start) and,
at a stop, sends SIGTERM and waits while the child drains its in-flight submits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import cast

import uvloop

from chatti import collector
from chatti.config import Settings, load_settings
from chatti.sender import STOP_DEADLINE_SECONDS, Sender
from chatti.store.checkpoint import WalCheckpoints
from chatti.store.engine import Store

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0
STATUS_INTERVAL_SECONDS = 1.0
STARTUP_TIMEOUT_SECONDS = 15.0
PR_SET_PDEATHSIG = 1


class SenderProcess:
    """In the API's process: starts the children ([sending] processes, one by default),
    keeps them running, relays wake-ups, and merges their reports."""

    def __init__(self, settings: Settings, log_level: str = "info") -> None:
        count = settings.sender_processes
        self._children = [
            _Child(settings, log_level, _child_node_id(settings.node_id, index, count), index)
            for index in range(count)
        ]

    async def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Start the children and wait (up to `timeout`) for their first reports, so that
        the node is ready as soon as its binds are, as with the carrier side in process."""
        await asyncio.gather(*(child.start(timeout) for child in self._children))

    def wake(self) -> None:
        for child in self._children:
            child.wake()

    @property
    def started(self) -> bool:
        return all(child.started.is_set() for child in self._children)

    @property
    def restarts(self) -> int:
        return sum(child.restarts for child in self._children)

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children if child.pid is not None]

    @property
    def any_bound(self) -> bool:
        return any(carrier.get("bound") for carrier in self.carrier_status().values())

    def carrier_status(self) -> dict[str, dict[str, object]]:
        """Per carrier, over the children's binds: bound when any is."""
        merged: dict[str, dict[str, object]] = {}
        for child in self._children:
            for name, status in child.status.items():
                known = merged.get(name)
                if known is None:
                    merged[name] = dict(status)
                    continue
                known["bound"] = bool(known["bound"] or status["bound"])
                for count in ("binds", "connections", "bound_connections"):
                    known[count] = cast(int, known.get(count, 0)) + cast(int, status.get(count, 0))
                known["last_error"] = known["last_error"] or status["last_error"]
        return merged

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self._children))


def _child_node_id(node_id: str, index: int, count: int) -> str:
    """Claims are held under the child's own id: the first keeps the node's, so that
    one process (the default) claims as the node always did."""
    return node_id if index == 0 else f"{node_id}#{index}"


class _Child:
    def __init__(self, settings: Settings, log_level: str, node_id: str, index: int) -> None:
        self._settings = settings
        self._log_level = log_level
        self._node_id = node_id
        self._index = index  # which share of the carriers' binds it holds
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake_pending = False
        self.status: dict[str, dict[str, object]] = {}
        self.started = asyncio.Event()  # the first child reported its binds
        self.restarts = 0

    async def start(self, timeout: float) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"sender {self._node_id}")
        try:
            await asyncio.wait_for(self.started.wait(), timeout)
        except TimeoutError:
            log.error("sender process %s did not report within %.0fs", self._node_id, timeout)

    def wake(self) -> None:
        if self._wake_pending or self._process is None or self._process.stdin is None:
            return
        self._wake_pending = True  # one newline per pass of the loop, however many accepts
        asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_pending = False
        process = self._process
        if process is not None and process.stdin is not None and process.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                process.stdin.write(b"\n")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_DEADLINE_SECONDS + 10)
            except TimeoutError:
                log.warning("sender process %s did not stop in time; killing it", self._node_id)
                process.kill()
                await process.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor

    async def _supervise(self) -> None:
        while not self._stopping:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "chatti.sender_process",
                *self._arguments(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert self._process.stdout is not None
            async for line in self._process.stdout:
                with contextlib.suppress(ValueError):
                    self.status = json.loads(line)["carriers"]
                    self.started.set()
            code = await self._process.wait()
            self.status = {}
            if self._stopping:
                return
            self.restarts += 1
            log.error(
                "sender process %s ended (exit status %s); starting it again in %.0fs",
                self._node_id,
                code,
                RESTART_DELAY_SECONDS,
            )
            await asyncio.sleep(RESTART_DELAY_SECONDS)

    def _arguments(self) -> list[str]:
        settings = self._settings
        arguments = [
            "--data-dir",
            str(settings.data_dir),
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--node-id",
            self._node_id,
            "--process-index",
            str(self._index),
            "--log-level",
            self._log_level,
        ]
        if settings.config_file is not None:
            arguments += ["--config", str(settings.config_file)]
        return arguments


# The child ---------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: be killed when the API process dies, as one node crashing would."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


async def _serve(settings: Settings, parent: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Ctrl-C reaches the whole process group: the API process decides when this one
    # stops (SIGTERM, after the API stopped accepting), not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:
        return  # the API process died before prctl took effect
    store = Store(settings.database_url, checkpoints=WalCheckpoints.ELSEWHERE)  # by the API
    sender = Sender(store, settings)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await sender.start()
        # A healthy carrier answers a bind in milliseconds: give the binds a moment
        # before the first report, so the node is ready when its API starts.
        await sender.wait_bound(1.0)
        tasks = [
            asyncio.create_task(_follow_parent(reader, sender, stop)),
            asyncio.create_task(_report(sender)),
        ]
        await stop.wait()
        for task in tasks:
            task.cancel()
    finally:
        await sender.stop()
        await store.close()


async def _follow_parent(reader: asyncio.StreamReader, sender: Sender, stop: asyncio.Event) -> None:
    # Every newline is a wake-up: read whatever has come at once, so a busy API costs one
    # wake-up per pass of this loop, not one per newline.
    while await reader.read(4096):
        sender.wake()
    log.warning("the API process went away; stopping")
    stop.set()


async def _report(sender: Sender) -> None:
    """The binds' state: at once, on every change (looked at ten times a second) and
    at least every STATUS_INTERVAL_SECONDS."""
    loop = asyncio.get_running_loop()
    last, sent_at = "", 0.0
    while True:
        line = json.dumps({"carriers": sender.carrier_status()}) + "\n"
        if line != last or loop.time() - sent_at >= STATUS_INTERVAL_SECONDS:
            sys.stdout.write(line)
            sys.stdout.flush()
            last, sent_at = line, loop.time()
        await asyncio.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chatti.sender_process")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--process-index", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    parent = os.getppid()
    _die_with_parent()
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [sender]: %(message)s",
    )
    settings = replace(
        load_settings(args.data_dir, args.config, args.host, args.port),
        node_id=args.node_id,
        sender_index=args.process_index,
    )
    collector.tune_for_service()
    uvloop.run(_serve(settings, parent))


if __name__ == "__main__":
    main()
