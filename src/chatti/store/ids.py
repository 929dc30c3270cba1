"""Identifiers: ULIDs for messages (they sort by creation time, so the primary key
doubles as the pagination cursor), random tokens for accounts and keys."""

from __future__ import annotations

import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """48 bits of milliseconds then 80 random bits, in 26 Crockford base-32 characters."""
    milliseconds = int(time.time() * 1000) if now_ms is None else now_ms
    value = (milliseconds << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_api_key() -> str:
    """The secret shown once to its owner; only its SHA-256 is stored."""
    return "chatti_" + secrets.token_urlsafe(32)
