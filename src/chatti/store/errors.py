"""Errors of the store.

    StoreError
    ├── StoreUnavailableError   the database cannot be reached or refused the work
    ├── NotFoundError           no such row for this account
    └── IdempotencyConflictError   the key was used before with another request body

Driver errors (sqlite3, asyncpg) become these at the store's edge, raised `from` the
original, so no other package needs to know which engine runs.
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error raised by chatti.store."""


class StoreUnavailableError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


class IdempotencyConflictError(StoreError):
    pass
