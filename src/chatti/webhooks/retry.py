"""When to try a webhook again. Pure.

Exponential backoff from `initial` seconds, capped at an hour, for at least 24 hours
after the event was written; after that the event is given up (and recorded so).
With the defaults that is about 30 attempts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookRetry:
    initial_seconds: float = 5.0
    maximum_seconds: float = 3600.0
    give_up_after_seconds: float = 25 * 3600.0  # more than the promised 24 hours

    def next_attempt(self, attempts: int, created_at: int, now: int) -> int | None:
        """`attempts` made so far, this failed one included; times in microseconds.
        Returns when to try again, or None to give up."""
        if now - created_at > self.give_up_after_seconds * 1_000_000:
            return None
        delay = min(self.maximum_seconds, self.initial_seconds * 2 ** max(0, attempts - 1))
        return now + int(delay * 1_000_000)
