"""SQLite's WAL checkpoints on a thread of their own, so that no commit runs one.

By default SQLite checkpoints in the commit that takes the WAL past 1,000 pages: that
commit copies the WAL into the database file and flushes it before it returns. A node
commits from several processes, and in a batch run the one that crossed the line held
its event loop for up to 1.3 s, its requests or its submits and receipt acknowledgements
waiting (docs/performance.md, tenth round).

So a node's writers turn theirs off (`WalCheckpoints.ELSEWHERE` in the sender
processes, `BACKGROUND` in the API process, which runs this thread). Every 0.1 s the
thread runs a PASSIVE checkpoint: it copies what it can without taking a lock anyone
waits for, and the sqlite3 module lets go of the GIL meanwhile. But a WAL only starts
again from its beginning when a write begins with every frame copied, which a busy
node's writers never let a PASSIVE checkpoint see: once the WAL holds RESTART_FRAMES,
a RESTART checkpoint takes the write lock, copies the few frames since, waits for
readers to leave the WAL, and the next commit writes from its start. Writers wait for
it as for any other writer, without blocking their loops: in a batch run a RESTART took
21 ms on average and 59 ms at most, its own wait for the lock included. One that cannot
get the lock and the readers within RESTART_WAIT_MS gives up and is tried next round.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 0.1  # between PASSIVE checkpoints
RESTART_FRAMES = 4096  # pages in the WAL (16 MiB) before it is made to start again
RESTART_WAIT_MS = 50  # SQLite's busy handler: for the write lock, then for readers


class WalCheckpoints(Enum):
    """Who checkpoints a SQLite store's WAL."""

    INLINE = "inline"  # SQLite's own, in the commit that fills 1,000 pages (a command)
    BACKGROUND = "background"  # this store's thread (a node's API process)
    ELSEWHERE = "elsewhere"  # another process of the node (its sender processes)


class WalCheckpointer:
    """A PASSIVE checkpoint of the database's WAL every `interval` seconds (cheap when
    every frame is already copied: SQLite reads the WAL index header and returns)."""

    def __init__(self, database: Path, *, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        self._database = database
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # run on a WAL with frames in it, for tests
        self.restarts = 0  # RESTART checkpoints that finished

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="chatti-wal-checkpoints", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.wait(self._interval):
                try:
                    connection = connection or self._connect()
                    if connection is not None:
                        self._checkpoint(connection)
                except (sqlite3.Error, OSError) as error:  # the next round tries again
                    log.warning("WAL checkpoint failed: %s", error)
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection | None:
        """None until the database file exists (a new node creates it when it migrates);
        mode=rw, so that this never creates one."""
        if not self._database.exists():
            return None
        uri = f"{self._database.resolve().as_uri()}?mode=rw"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        return connection

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        _busy, in_wal, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if in_wal <= 0:  # -1: not in WAL mode (yet); 0: nothing written since a restart
            return
        self.checkpoints += 1
        if in_wal >= RESTART_FRAMES:
            busy, _in_wal, _copied = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += not busy
