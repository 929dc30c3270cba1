"""POST /v1/messages, POST /v1/messages/batch, GET /v1/messages[/{id}].

A 202 is sent only after the message is committed. Each message is validated on its
own; in a batch the good ones are accepted together and the bad ones reported in
place, so nothing valid is lost and nothing invalid is queued.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from chatti.api import render
from chatti.api.auth import authenticate
from chatti.api.errors import ApiError, error_body, field_errors_from_pydantic
from chatti.api.schemas import BatchRequest, MessageRequest
from chatti.api.validation import (
    FieldError,
    check_callback_url,
    check_recipient,
    check_sender,
    check_text,
    check_validity,
)
from chatti.store import queries
from chatti.store.ids import new_ulid
from chatti.store.models import (
    Account,
    Idempotency,
    MessageStatus,
    NewMessage,
    StoredResponse,
    to_microseconds,
)

router = APIRouter(prefix="/v1/messages", tags=["messages"])

MAX_IDEMPOTENCY_KEY = 255
_MESSAGE_SCHEMA = MessageRequest.model_json_schema(by_alias=True)


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None


def prepare(item: Any) -> NewMessage | list[FieldError]:
    """One message from the request, checked, with the id it will be stored under."""
    try:
        request = MessageRequest.model_validate(item)
    except ValidationError as error:
        return field_errors_from_pydantic(list(error.errors()))
    errors: list[FieldError] = []
    recipient = check_recipient(request.to)
    if isinstance(recipient, FieldError):
        errors.append(recipient)
    cost = check_text(request.text)
    if isinstance(cost, FieldError):
        errors.append(cost)
    for problem in (
        check_sender(request.from_),
        check_validity(request.validity_period),
        check_callback_url(request.callback_url),
    ):
        if problem is not None:
            errors.append(problem)
    if errors or isinstance(recipient, FieldError) or isinstance(cost, FieldError):
        return errors
    return NewMessage(
        id=new_ulid(),
        to_number=recipient.e164,
        country=recipient.country,
        sender=request.from_,
        body=request.text,
        encoding=cost.encoding.value,
        segment_count=cost.segments,
        callback_url=request.callback_url,
        validity_period=request.validity_period,
        reference=request.reference,
    )


def accepted(message: NewMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "status": MessageStatus.ACCEPTED.value,
        "to": message.to_number,
        "from": message.sender,
        "country": message.country,
        "encoding": message.encoding,
        "segments": message.segment_count,
        "reference": message.reference,
    }


def _idempotency(
    key: str | None, request: Request, payload: Any, status: int, body: str
) -> Idempotency | None:
    if key is None:
        return None
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(
        f"{request.method} {request.url.path}\n{canonical}".encode()
    ).hexdigest()
    return Idempotency(key, digest, StoredResponse(status, body))


def _check_idempotency_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key takes 1 to {MAX_IDEMPOTENCY_KEY} characters",
        )


async def _commit(
    request: Request,
    account: Account,
    new: list[NewMessage],
    idempotency: Idempotency | None,
    status: int,
    body: str,
) -> Response:
    earlier = await request.app.state.accepts.accept(account.id, new, idempotency)
    request.app.state.node.accepted()
    if earlier is not None:
        return Response(earlier.body, earlier.status, media_type="application/json")
    return Response(body, status, media_type="application/json")


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("", status_code=202, openapi_extra=_json_body(_MESSAGE_SCHEMA))
async def send_message(
    request: Request,
    account: Annotated[Account, Depends(authenticate)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Accept one message; answered 202 once it is committed to disk."""
    _check_idempotency_key(idempotency_key)
    payload = parse_json(await request.body())
    prepared = prepare(payload)
    if isinstance(prepared, list):
        return JSONResponse(
            error_body("validation_failed", "the message is not valid", prepared), 422
        )
    body = json.dumps(accepted(prepared))
    idempotency = _idempotency(idempotency_key, request, payload, 202, body)
    return await _commit(request, account, [prepared], idempotency, 202, body)


@router.post(
    "/batch",
    status_code=202,
    openapi_extra=_json_body(
        {"type": "object", "properties": {"messages": {"type": "array", "items": _MESSAGE_SCHEMA}}}
    ),
)
async def send_batch(
    request: Request,
    account: Annotated[Account, Depends(authenticate)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Accept many messages at once: each checked on its own, the good ones committed together.

    202 when at least one was accepted, 422 when none was; `results` has one entry per
    message, in order, with its `id` or its `error`."""
    _check_idempotency_key(idempotency_key)
    payload = parse_json(await request.body())
    try:
        batch = BatchRequest.model_validate(payload)
    except ValidationError as error:
        details = field_errors_from_pydantic(list(error.errors()))
        return JSONResponse(error_body("validation_failed", "the batch is not valid", details), 422)
    limit: int = request.app.state.settings.max_batch
    if len(batch.messages) > limit:
        raise ApiError(
            413,
            "batch_too_large",
            f"a batch holds at most {limit} messages, got {len(batch.messages)}",
        )
    if not batch.messages:
        raise ApiError(422, "empty_batch", "the batch holds no message")
    results: list[dict[str, Any]] = []
    new: list[NewMessage] = []
    for index, item in enumerate(batch.messages):
        prepared = prepare(item)
        if isinstance(prepared, list):
            results.append(
                {
                    "index": index,
                    **error_body("validation_failed", "the message is not valid", prepared),
                }
            )
        else:
            new.append(prepared)
            results.append({"index": index, **accepted(prepared)})
    status = 202 if new else 422
    body = json.dumps(
        {"accepted": len(new), "rejected": len(results) - len(new), "results": results}
    )
    if not new:
        return Response(body, status, media_type="application/json")
    idempotency = _idempotency(idempotency_key, request, payload, status, body)
    return await _commit(request, account, new, idempotency, status, body)


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
