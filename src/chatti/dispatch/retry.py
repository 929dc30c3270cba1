"""What to do after a submit that did not succeed. Pure: `now` is passed in.

    decide(attempts, failure, now) -> RetryAt(when) | GiveUp(reason)

Temporary failures (throttling, a full queue, timeouts, lost connections, system
errors) are retried with exponential backoff and never given up: the promise is that
every accepted message is submitted. Only a carrier's permanent refusal of the message
itself (a bad address, a bad length) gives up, as `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatti.smpp.constants import CommandStatus, status_name

# SMPP 3.4, 5.1.3: statuses that say "this message will never be accepted as it is".
PERMANENT_STATUSES = frozenset(
    {
        CommandStatus.ESME_RINVMSGLEN,
        CommandStatus.ESME_RINVSRCADR,
        CommandStatus.ESME_RINVDSTADR,
        CommandStatus.ESME_RINVESMCLASS,
        CommandStatus.ESME_RINVSRCTON,
        CommandStatus.ESME_RINVSRCNPI,
        CommandStatus.ESME_RINVDSTTON,
        CommandStatus.ESME_RINVDSTNPI,
        CommandStatus.ESME_RINVDFTMSGID,
        CommandStatus.ESME_RINVEXPIRY,
        CommandStatus.ESME_RINVSCHED,
        CommandStatus.ESME_RINVREGDLVFLG,
        CommandStatus.ESME_RINVPRTFLG,
        CommandStatus.ESME_RINVOPTPARAMVAL,
        CommandStatus.ESME_RX_P_APPN,
        CommandStatus.ESME_RX_R_APPN,
    }
)

BASE_DELAY_US = 1_000_000  # first retry after one second
MAX_DELAY_US = 300_000_000  # then doubling, capped at five minutes


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: int  # microseconds since the epoch


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


def is_permanent(command_status: int | None) -> bool:
    return command_status in PERMANENT_STATUSES


def decide(attempts: int, command_status: int | None, now: int) -> RetryAt | GiveUp:
    """`attempts` counts tries so far, this one included; `command_status` is the
    carrier's answer, or None when none came (timeout, lost connection, not bound)."""
    if is_permanent(command_status):
        return GiveUp(f"carrier refused: {status_name(command_status or 0)}")
    return RetryAt(now + backoff(attempts))


def backoff(attempts: int) -> int:
    return int(min(MAX_DELAY_US, BASE_DELAY_US * 2 ** max(0, attempts - 1)))
