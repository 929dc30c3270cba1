"""The outermost ASGI layer. Every request's body is read here under a ceiling, and
the two sending routes (api.accept) are answered here; the rest goes to FastAPI.

A body over the ceiling gets 413 without being read further, whether it announces its
length or streams chunks: this bounds the memory one client can make us hold.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from chatti.api.accept import (
    BATCH_PATH,
    SINGLE_PATH,
    Accepting,
    Answer,
    accept_batch,
    accept_message,
)
from chatti.api.auth import account_for
from chatti.api.errors import error_answer, error_body, log_error
from chatti.store.models import Account

log = logging.getLogger(__name__)

Handler = Callable[[Accepting, Account, bytes, str | None], Awaitable[Answer]]
_ROUTES: dict[str, Handler] = {SINGLE_PATH: accept_message, BATCH_PATH: accept_batch}
_JSON = (b"content-type", b"application/json")


class Front:
    def __init__(self, app: FastAPI, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        handler = _ROUTES.get(scope["path"]) if scope["method"] == "POST" else None
        if handler is not None:
            await self._serve(handler, scope, body, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _serve(self, handler: Handler, scope: Scope, body: bytes, send: Send) -> None:
        authorization = ""
        idempotency_key: str | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
        state = self.app.state
        try:
            account = await account_for(authorization, state.key_cache, state.store)
            answer = await handler(state.accepting, account, body, idempotency_key)
        except Exception as error:
            log_error(scope["method"], scope["path"], error)
            status, payload, headers = error_answer(error)
            extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
            await _respond(send, status, orjson.dumps(payload), extra)
            return
        await _respond(send, answer.status, answer.body)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once it was refused (413) or the client went away."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(self, send: Send) -> None:
        message = f"request bodies are limited to {self.max_bytes} bytes"
        payload = orjson.dumps(error_body("request_too_large", message))
        await _respond(send, 413, payload, [(b"connection", b"close")])


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *(headers or ())],
        }
    )
    await send({"type": "http.response.body", "body": body})
