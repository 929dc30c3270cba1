"""How long to pause after a carrier says it is overloaded (ESME_RTHROTTLED,
ESME_RMSGQFUL). Pure: the shell asks for the pause and applies it."""

from __future__ import annotations

from dataclasses import dataclass

from chatti.smpp.constants import CommandStatus

THROTTLE_STATUSES = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})


@dataclass(slots=True)
class ThrottleBackoff:
    """Exponential pauses while answers keep saying "slow down"; reset by any success.

    The first pause is short because most SMSCs throttle per second: a tenth of a
    second usually clears it, and doubling reaches the cap within a few refusals.
    """

    initial: float = 0.1
    factor: float = 2.0
    maximum: float = 5.0
    streak: int = 0

    def on_throttled(self) -> float:
        """Record a refusal; return how many seconds to hold new requests back."""
        pause = min(self.maximum, self.initial * self.factor**self.streak)
        self.streak += 1
        return pause

    def on_success(self) -> None:
        self.streak = 0
