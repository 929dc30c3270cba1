"""Pure choices the simulator makes: which receipt outcome, which submit to refuse."""

from __future__ import annotations

import random
from dataclasses import dataclass

from chatti.smpp.constants import MessageState


@dataclass(frozen=True, slots=True)
class ReceiptMix:
    """Shares of receipt outcomes. Parsed from `--dlr-ratio`: either one number, the
    share delivered with the rest undeliverable ("0.9"), or three weights
    delivered:undeliverable:expired ("90:8:2")."""

    delivered: float = 1.0
    undeliverable: float = 0.0
    expired: float = 0.0

    @classmethod
    def parse(cls, text: str) -> ReceiptMix:
        parts = text.split(":")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise ValueError(
                f"--dlr-ratio {text!r}: give a share (0.9) or weights (90:8:2)"
            ) from None
        if any(number < 0 for number in numbers):
            raise ValueError(f"--dlr-ratio {text!r}: shares cannot be negative")
        if len(numbers) == 1:
            if numbers[0] > 1:
                raise ValueError(f"--dlr-ratio {text!r}: a single share lies in 0..1")
            return cls(numbers[0], 1 - numbers[0], 0.0)
        if len(numbers) == 3 and sum(numbers) > 0:
            total = sum(numbers)
            return cls(numbers[0] / total, numbers[1] / total, numbers[2] / total)
        raise ValueError(f"--dlr-ratio {text!r}: give a share (0.9) or three weights (90:8:2)")

    def choose(self, rng: random.Random) -> MessageState:
        draw = rng.random()
        if draw < self.delivered:
            return MessageState.DELIVERED
        if draw < self.delivered + self.undeliverable:
            return MessageState.UNDELIVERABLE
        return MessageState.EXPIRED
