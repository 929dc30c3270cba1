"""The store: schema, migrations and every query, on SQLite or PostgreSQL."""

from chatti.store.engine import Store
from chatti.store.errors import (
    IdempotencyConflictError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)

__all__ = [
    "IdempotencyConflictError",
    "NotFoundError",
    "Store",
    "StoreError",
    "StoreUnavailableError",
]
