"""When a helper sender process holds its binds: only while a backlog waits.

A node's first sender process is always bound. The ones after it (helpers) add a core's
worth of submits and receipts to bulk sends, but a second process sharing the store
costs messages sent one by one their latency (docs/performance.md, eighth round). So a
helper keeps its binds closed until at least `backlog` messages are due, and closes
them again once fewer have been due for `linger_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

POLL_SECONDS = 0.25  # how often a helper counts the due messages


class Change(Enum):
    BIND = "bind"
    UNBIND = "unbind"


@dataclass
class BacklogGate:
    """The decision alone: fed the count of due messages, it says when to bind and
    when to unbind."""

    backlog: int  # due messages that make a helper bind; 0: helpers are always bound
    linger_seconds: float  # how long fewer must be due before it unbinds
    bound: bool = False
    _quiet_since: float | None = None

    def observe(self, due: int, now: float) -> Change | None:
        if due >= self.backlog:
            self._quiet_since = None
            if not self.bound:
                self.bound = True
                return Change.BIND
            return None
        if not self.bound:
            return None
        if self._quiet_since is None:
            self._quiet_since = now
        if now - self._quiet_since >= self.linger_seconds:
            self.bound = False
            self._quiet_since = None
            return Change.UNBIND
        return None
