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
    checks: dict[str, Any] = {}
    try:
        await request.app.state.store.ping()
        checks["store"] = "ok"
    except StoreError as error:
        log.warning("not ready: store: %s", error)
        checks["store"] = "unavailable"
    carriers = request.app.state.node.carriers
    checks["carriers"] = carriers.carrier_status()
    ready = checks["store"] == "ok" and carriers.any_bound
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )
