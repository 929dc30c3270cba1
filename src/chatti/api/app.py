"""`create_app(settings)`: the FastAPI application. Its lifespan starts the node (store,
carrier binds, dispatcher, webhook sender) and stops it gracefully."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatti import __version__
from chatti.api import account, admin, health, messages
from chatti.api.auth import KeyCache
from chatti.api.errors import install_error_handlers
from chatti.api.limits import BodySizeLimit
from chatti.config import Settings
from chatti.node import Node

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, log_level: str = "info") -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = Node(settings, log_level=log_level)
        try:
            await node.start()
            app.state.node = node
            app.state.store = node.store
            app.state.accepts = node.accepts
            yield
        finally:
            await node.stop()

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
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(health.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
