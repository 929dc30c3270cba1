"""GET /v1/messages and GET /v1/messages/{id}: your messages and their history.
(Sending them, POST /v1/messages[/batch], is in `api.accept`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from chatti.api import render
from chatti.api.auth import authenticate
from chatti.api.errors import ApiError
from chatti.store import queries
from chatti.store.models import (
    Account,
    MessageStatus,
    to_microseconds,
)

router = APIRouter(prefix="/v1/messages", tags=["messages"])


@router.get("/{message_id}")
async def get_message(
    message_id: str, request: Request, account: Annotated[Account, Depends(authenticate)]
) -> dict[str, Any]:
    """One message of yours with its status history."""
    message, history, parts = await queries.get_message(
        request.app.state.store, account.id, message_id
    )
    return render.message(message, history, parts)


def parse_moment(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return to_microseconds(datetime.fromisoformat(value))
    except ValueError:
        raise ApiError(
            422, "invalid_time", f"{name} must be an ISO 8601 time, e.g. 2026-11-28T12:00:00Z"
        ) from None


@router.get("")
async def list_messages(
    request: Request,
    account: Annotated[Account, Depends(authenticate)],
    status: Annotated[MessageStatus | None, Query()] = None,
    to: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=26)] = None,
) -> dict[str, Any]:
    """Your messages, newest first, filtered; pass `next_cursor` back as `cursor` for more."""
    found = await queries.list_messages(
        request.app.state.store,
        account.id,
        status=status,
        to_number=to,
        since=parse_moment("since", since),
        until=parse_moment("until", until),
        before_id=cursor,
        limit=limit,
    )
    return {
        "messages": [render.message(message) for message in found],
        "next_cursor": found[-1].id if len(found) == limit else None,
    }
