"""Webhook signatures. Pure.

Each POST carries

    Chatti-Timestamp: 1764331200
    Chatti-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with
its account's webhook secret, compares in constant time, and refuses timestamps more
than five minutes away from its clock (which stops replays). `verify` does all three.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "Chatti-Timestamp"
SIGNATURE_HEADER = "Chatti-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)
