"""A token bucket per carrier: at most `rate` submits a second, bursts of one second's
worth. Pure: the caller passes the time and sleeps for the delay it is given."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens a second; 0 means no limit
    tokens: float = field(init=False)
    updated: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self, now: float) -> float:
        """Take one token; return how long to wait before using it (0 if none)."""
        if self.rate <= 0:
            return 0.0
        if self.updated:
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
