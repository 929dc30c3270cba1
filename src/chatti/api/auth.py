"""API keys: `Authorization: Bearer <key>`.

Keys are looked up by their SHA-256. A verified key is remembered for a few seconds
(`Settings.auth_cache_seconds`), so a busy client costs one hash per request, not a
query; a revoked key therefore stops working within that time on every node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request

from chatti.api.errors import ApiError
from chatti.store import queries
from chatti.store.engine import Store
from chatti.store.models import Account

MAX_CACHED_KEYS = 10_000


@dataclass(slots=True)
class KeyCache:
    seconds: float
    _entries: dict[str, tuple[Account, float]] = field(default_factory=dict)

    def get(self, key: str) -> Account | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def clear(self) -> None:
        self._entries.clear()

    def put(self, key: str, account: Account) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= MAX_CACHED_KEYS:
            self._entries.clear()
        self._entries[key] = (account, time.monotonic() + self.seconds)


async def account_for(authorization: str, cache: KeyCache, store: Store) -> Account:
    """The account whose key the Authorization header carries, or ApiError 401."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "send your API key as 'Authorization: Bearer <key>'")
    key = key.strip()
    account = cache.get(key)
    if account is None:
        account = await queries.account_for_key(store, key)
        if account is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        cache.put(key, account)
    return account


async def authenticate(request: Request) -> Account:
    state = request.app.state
    return await account_for(request.headers.get("authorization", ""), state.key_cache, state.store)


async def authenticate_admin(request: Request) -> Account:
    account = await authenticate(request)
    if not account.is_admin:
        raise ApiError(403, "forbidden", "this key is not an admin key")
    return account
