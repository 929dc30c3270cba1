"""/healthz: the process answers. /readyz: it can do its work (the store answers)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from chatti.store.errors import StoreError

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    try:
        await request.app.state.store.ping()
    except StoreError as error:
        log.warning("not ready: store: %s", error)
        return JSONResponse({"status": "not_ready", "checks": {"store": "unavailable"}}, 503)
    return JSONResponse({"status": "ready", "checks": {"store": "ok"}})
