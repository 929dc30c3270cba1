"""`create_app(settings)`: the ASGI application. FastAPI serves every route but the
two sending ones, which `Front` answers before FastAPI's stack (api.accept). The
lifespan starts the node (store, carrier binds, dispatcher, webhook sender) and stops
it gracefully."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from chatti import __version__
from chatti.api import account, admin, health, messages
from chatti.api.accept import Accepting, openapi_operations
from chatti.api.auth import KeyCache
from chatti.api.errors import install_error_handlers
from chatti.api.front import Front
from chatti.config import Settings
from chatti.node import Node

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, log_level: str = "info") -> Front:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = Node(settings, log_level=log_level)
        try:
            await node.start()
            app.state.node = node
            app.state.store = node.store
            app.state.accepting = Accepting(node.accepts, node.accepted, settings.max_batch)
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

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operation in openapi_operations().items():
                schema["paths"].setdefault(path, {})["post"] = operation
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return Front(app, max_bytes=settings.max_body_bytes)
