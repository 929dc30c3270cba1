"""Identifiers: ULIDs for messages (they sort by creation time, so the primary key
doubles as the pagination cursor), random tokens for accounts and keys."""

from __future__ import annotations

import base64
import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base64's base-32 alphabet (RFC 4648) to Crockford's, digit for digit
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())
_last_time: tuple[int, str] = (-1, "")


def new_ulid(now_ms: int | None = None) -> str:
    """48 bits of milliseconds then 80 random bits, in 26 Crockford base-32 characters."""
    milliseconds = int(time.time() * 1000) if now_ms is None else now_ms
    return ulid_text(milliseconds, os.urandom(10))


def ulid_text(milliseconds: int, randomness: bytes) -> str:
    # Accepting thousands a second, this runs once per message: the time part is
    # shared by the ids of one millisecond, the 80 random bits are exactly 16 base-32
    # digits, which base64.b32encode makes in C.
    global _last_time
    if _last_time[0] != milliseconds:
        digits = [_CROCKFORD[(milliseconds >> shift) & 31] for shift in range(45, -5, -5)]
        _last_time = (milliseconds, "".join(digits))
    return _last_time[1] + base64.b32encode(randomness).translate(_FROM_RFC4648).decode()


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_api_key() -> str:
    """The secret shown once to its owner; only its SHA-256 is stored."""
    return "chatti_" + secrets.token_urlsafe(32)
