"""/v1/account: the calling account itself: its webhook secret and callback settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from chatti.api import render
from chatti.api.auth import authenticate
from chatti.api.errors import ApiError
from chatti.api.schemas import AccountUpdate
from chatti.api.validation import check_callback_url
from chatti.store import queries
from chatti.store.models import Account

router = APIRouter(prefix="/v1/account", tags=["account"])


@router.get("")
async def get_account(
    request: Request, account: Annotated[Account, Depends(authenticate)]
) -> dict[str, Any]:
    """Your account, with the secret that signs your webhooks."""
    current = await queries.get_account(request.app.state.store, account.id)
    return render.account(current, with_secret=True)


@router.patch("")
async def update_account(
    body: AccountUpdate, request: Request, account: Annotated[Account, Depends(authenticate)]
) -> dict[str, Any]:
    """Set the default callback URL ("" removes it) or the events per webhook POST."""
    url = body.callback_url or None
    problem = check_callback_url(url)
    if problem is not None:
        raise ApiError(422, "validation_failed", problem.message, [problem])
    updated = await queries.update_account(
        request.app.state.store,
        account.id,
        callback_url=url,
        clear_callback_url=body.callback_url == "",
        webhook_batch_max=body.webhook_batch_max,
    )
    request.app.state.key_cache.clear()
    return render.account(updated, with_secret=True)
