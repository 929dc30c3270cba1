"""Whether a carrier should get traffic. Pure.

A carrier is skipped while it is not bound, and for a cool-down after it failed
several submits in a row without a success (a bind that is up but refuses everything
is as good as down). After the cool-down it gets traffic again; one success resets it.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILURES_TO_TRIP = 5
COOL_DOWN_SECONDS = 30.0


@dataclass(slots=True)
class CarrierHealth:
    failures_in_a_row: int = 0
    resting_until: float = 0.0

    def usable(self, bound: bool, now: float) -> bool:
        return bound and now >= self.resting_until

    def record_success(self) -> None:
        self.failures_in_a_row = 0
        self.resting_until = 0.0

    def record_failure(self, now: float) -> None:
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= FAILURES_TO_TRIP:
            self.resting_until = now + COOL_DOWN_SECONDS
            self.failures_in_a_row = 0
