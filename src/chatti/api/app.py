"""`create_app(settings)`: the FastAPI application. Its lifespan opens the store,
migrates it, and creates the first account on an empty database."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatti import __version__
from chatti.api import admin, health, messages
from chatti.api.auth import KeyCache
from chatti.api.errors import install_error_handlers
from chatti.api.limits import BodySizeLimit
from chatti.config import Settings
from chatti.store import queries
from chatti.store.engine import Store
from chatti.store.group_commit import AcceptQueue
from chatti.store.migrate import upgrade

log = logging.getLogger(__name__)

DEMO_KEY_FILE = "demo-api-key"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.database_url)
        try:
            if settings.migrate_on_start:
                await upgrade(store)
            await ensure_first_account(store, settings)
            app.state.store = store
            app.state.accepts = AcceptQueue(store)
            yield
            await app.state.accepts.close()
        finally:
            await store.close()

    app = FastAPI(
        title="Chatti",
        version=__version__,
        description="Send SMS over HTTP; Chatti stores, routes and submits them over SMPP.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.key_cache = KeyCache(settings.auth_cache_seconds)
    install_error_handlers(app)
    app.include_router(messages.router)
    app.include_router(admin.router)
    app.include_router(health.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


async def ensure_first_account(store: Store, settings: Settings) -> None:
    """On a database with no account, create one (an admin) and hand its key over:
    printed once, and written to DATA_DIR/demo-api-key (mode 0600) for scripts."""
    if await queries.count_accounts(store):
        return
    account, key = await queries.create_account(store, "demo", is_admin=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / DEMO_KEY_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    print(f"chatti: created account {account.id} (admin); API key: {key}", flush=True)
    print(f"chatti: the key is also in {path}", flush=True)
