"""/v1/admin: accounts, API keys, carriers and routes. Admin keys only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from chatti.api import render
from chatti.api.auth import authenticate_admin
from chatti.api.errors import ApiError
from chatti.api.messages import parse_moment
from chatti.api.schemas import AccountRequest, CarrierRequest, RoutesRequest
from chatti.api.validation import check_callback_url
from chatti.store import queries
from chatti.store.models import Carrier, Route
from chatti.store.queries import now_us
from chatti.store.reports import sla_report

DEFAULT_SLA_RANGE_US = 30 * 24 * 3600 * 1_000_000

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(authenticate_admin)])


@router.get("/accounts")
async def list_accounts(request: Request) -> dict[str, Any]:
    found = await queries.list_accounts(request.app.state.store)
    return {"accounts": [render.account(account) for account in found]}


@router.post("/accounts", status_code=201)
async def create_account(body: AccountRequest, request: Request) -> dict[str, Any]:
    """A new account and its first API key, shown only in this answer."""
    problem = check_callback_url(body.callback_url)
    if problem is not None:
        raise ApiError(422, "validation_failed", problem.message, [problem])
    account, key = await queries.create_account(
        request.app.state.store,
        body.name,
        is_admin=body.admin,
        callback_url=body.callback_url,
        webhook_batch_max=body.webhook_batch_max,
    )
    return {"account": render.account(account, with_secret=True), "api_key": key}


@router.get("/accounts/{account_id}/keys")
async def list_keys(account_id: str, request: Request) -> dict[str, Any]:
    found = await queries.list_api_keys(request.app.state.store, account_id)
    return {"keys": [render.api_key(key) for key in found]}


@router.post("/accounts/{account_id}/keys", status_code=201)
async def create_key(account_id: str, request: Request) -> dict[str, Any]:
    key, plaintext = await queries.create_api_key(request.app.state.store, account_id)
    return {"key": render.api_key(key), "api_key": plaintext}


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, request: Request) -> Response:
    await queries.revoke_api_key(request.app.state.store, key_id)
    request.app.state.key_cache.clear()
    return Response(status_code=204)


@router.get("/carriers")
async def list_carriers(request: Request) -> dict[str, Any]:
    found = await queries.list_carriers(request.app.state.store)
    return {"carriers": [render.carrier(carrier) for carrier in found]}


@router.put("/carriers/{name}")
async def put_carrier(name: str, body: CarrierRequest, request: Request) -> dict[str, Any]:
    if not 0 < len(name) <= 64:
        raise ApiError(422, "invalid_name", "a carrier name takes 1 to 64 characters")
    carrier = Carrier(name=name, **body.model_dump())
    await queries.upsert_carrier(request.app.state.store, carrier)
    return render.carrier(carrier)


@router.delete("/carriers/{name}", status_code=204)
async def delete_carrier(name: str, request: Request) -> Response:
    await queries.delete_carrier(request.app.state.store, name)
    return Response(status_code=204)


@router.get("/routes")
async def list_routes(request: Request) -> dict[str, Any]:
    found = await queries.list_routes(request.app.state.store)
    return {"routes": [render.route(route) for route in found]}


@router.put("/routes")
async def put_routes(body: RoutesRequest, request: Request) -> dict[str, Any]:
    """Replace the whole route table; every carrier named must exist."""
    store = request.app.state.store
    known = {carrier.name for carrier in await queries.list_carriers(store)}
    unknown = sorted({name for item in body.routes for name in item.carriers} - known)
    if unknown:
        raise ApiError(422, "unknown_carrier", f"no carrier named {', '.join(unknown)}")
    table = [Route(item.match, tuple(item.carriers)) for item in body.routes]
    await queries.replace_routes(store, table)
    return {"routes": [render.route(route) for route in table]}


@router.get("/sla")
async def sla(
    request: Request,
    since: Annotated[str | None, Query(description="ISO 8601, default 30 days ago")] = None,
    until: Annotated[str | None, Query(description="ISO 8601, default now")] = None,
    account: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """The delivery guarantee over messages accepted in [since, until)."""
    now = now_us()
    start = parse_moment("since", since) or now - DEFAULT_SLA_RANGE_US
    end = parse_moment("until", until) or now
    report = await sla_report(
        request.app.state.store,
        start,
        end,
        now,
        request.app.state.settings.dispatch.default_validity_seconds,
        account,
    )
    body = report.as_dict()
    body["since"], body["until"] = render.timestamp(start), render.timestamp(end)
    return body
