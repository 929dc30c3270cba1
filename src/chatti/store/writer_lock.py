"""Taking turns at SQLite's write lock between the processes of a node.

SQLite has one writer at a time, and a process that finds the lock taken can only poll
for it: SQLite's own busy handler sleeps (blocking the loop), and polling with
asyncio.sleep either burns CPU or oversleeps. Measured with the API process and the
sender process both writing: the API waited up to 98 ms for a lock held for a few.

So the writers of one database file first take an exclusive flock(2) on a side file
(`<database>-writer`). The kernel wakes a waiter as soon as the holder lets go, with no
polling. An uncontended flock costs one system call; a contended one waits in a
thread, so the loop goes on. Writers that do not take it (another program, an older
Chatti) are still handled by the BEGIN IMMEDIATE retry in engine.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class WriterLock:
    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._waiter = ThreadPoolExecutor(1, thread_name_prefix="sqlite writer lock")

    async def acquire(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(
            self._waiter, fcntl.flock, self._fd, fcntl.LOCK_EX
        )
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # Let the thread finish taking the lock and give it back before leaving:
            # until then, no other writer of this process may use the descriptor.
            while not waiting.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(waiting)
            if not waiting.cancelled() and waiting.exception() is None:
                self.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._waiter.shutdown(wait=False, cancel_futures=True)
        os.close(self._fd)
