"""POST /v1/messages and POST /v1/messages/batch: checking and accepting messages.

A 202 is sent only after the message is committed. Each message is validated on its
own; in a batch the good ones are accepted together and the bad ones reported in
place, so nothing valid is lost and nothing invalid is queued.

These two routes carry the traffic, so they are served by `api.front` straight from
ASGI rather than through FastAPI's routing and dependency stack (which cost two thirds
of a request's CPU, docs/performance.md). Nothing here knows about HTTP frameworks:
a request is its raw body and headers, an answer its status and JSON bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

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
from chatti.store.group_commit import AcceptQueue
from chatti.store.ids import new_ulid
from chatti.store.models import Account, Idempotency, MessageStatus, NewMessage, StoredResponse

MAX_IDEMPOTENCY_KEY = 255
SINGLE_PATH = "/v1/messages"
BATCH_PATH = "/v1/messages/batch"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes  # JSON


@dataclass(frozen=True, slots=True)
class Accepting:
    """What accepting needs from the node: its group-committed queue, a way to wake
    the dispatcher, and the largest batch allowed."""

    queue: AcceptQueue
    accepted: Callable[[], None]
    max_batch: int


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
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


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key takes 1 to {MAX_IDEMPOTENCY_KEY} characters",
        )


def _idempotency(
    key: str | None, path: str, payload: Any, status: int, body: bytes
) -> Idempotency | None:
    if key is None:
        return None
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"POST {path}\n{canonical}".encode()).hexdigest()
    return Idempotency(key, digest, StoredResponse(status, body.decode()))


async def _commit(
    accepting: Accepting,
    account: Account,
    new: list[NewMessage],
    idempotency: Idempotency | None,
    answer: Answer,
) -> Answer:
    earlier = await accepting.queue.accept(account.id, new, idempotency)
    accepting.accepted()
    if earlier is not None:
        return Answer(earlier.status, earlier.body.encode())
    return answer


def _json(payload: Any) -> bytes:
    return orjson.dumps(payload)


async def accept_message(
    accepting: Accepting, account: Account, raw: bytes, idempotency_key: str | None
) -> Answer:
    """Accept one message; answered 202 once it is committed to disk."""
    check_idempotency_key(idempotency_key)
    payload = parse_json(raw)
    prepared = prepare(payload)
    if isinstance(prepared, list):
        return Answer(
            422, _json(error_body("validation_failed", "the message is not valid", prepared))
        )
    answer = Answer(202, _json(accepted(prepared)))
    idempotency = _idempotency(idempotency_key, SINGLE_PATH, payload, 202, answer.body)
    return await _commit(accepting, account, [prepared], idempotency, answer)


async def accept_batch(
    accepting: Accepting, account: Account, raw: bytes, idempotency_key: str | None
) -> Answer:
    """Accept many messages at once: each checked on its own, the good ones committed
    together. 202 when at least one was accepted, 422 when none was; `results` has one
    entry per message, in order, with its `id` or its `error`."""
    check_idempotency_key(idempotency_key)
    payload = parse_json(raw)
    try:
        batch = BatchRequest.model_validate(payload)
    except ValidationError as error:
        details = field_errors_from_pydantic(list(error.errors()))
        return Answer(
            422, _json(error_body("validation_failed", "the batch is not valid", details))
        )
    limit = accepting.max_batch
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
    answer = Answer(
        202 if new else 422,
        _json({"accepted": len(new), "rejected": len(results) - len(new), "results": results}),
    )
    if not new:
        return answer
    idempotency = _idempotency(idempotency_key, BATCH_PATH, payload, answer.status, answer.body)
    return await _commit(accepting, account, new, idempotency, answer)


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi_operations() -> dict[str, dict[str, Any]]:
    """The two routes' OpenAPI entries (FastAPI does not see them, see the docstring)."""
    message = MessageRequest.model_json_schema(by_alias=True)
    responses = {
        "202": {"description": "accepted and committed"},
        "400": {"description": "invalid JSON or Idempotency-Key"},
        "401": {"description": "missing or unknown API key"},
        "409": {"description": "Idempotency-Key reused with another request"},
        "413": {"description": "body or batch too large"},
        "422": {"description": "not valid: see error.details (per message for a batch)"},
        "503": {"description": "the database is unavailable; nothing was accepted"},
    }
    key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
    }
    return {
        SINGLE_PATH: {
            "tags": ["messages"],
            "summary": "Send Message",
            "description": accept_message.__doc__,
            "operationId": "send_message",
            "parameters": [key],
            "requestBody": _json_body(message),
            "responses": responses,
        },
        BATCH_PATH: {
            "tags": ["messages"],
            "summary": "Send Batch",
            "description": accept_batch.__doc__,
            "operationId": "send_batch",
            "parameters": [key],
            "requestBody": _json_body(
                {"type": "object", "properties": {"messages": {"type": "array", "items": message}}}
            ),
            "responses": responses,
        },
    }
