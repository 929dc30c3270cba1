"""One error body for the whole API, and the one place where errors become statuses.

    {"error": {"code": "validation_failed", "message": "...", "details": [
        {"field": "to", "code": "invalid_phone_number", "message": "..."}]}}

No stack trace ever reaches a client: an unexpected exception is logged with the
request's method and path and answered 500 "internal_error".
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatti.api.validation import FieldError
from chatti.store.errors import IdempotencyConflictError, NotFoundError, StoreUnavailableError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[FieldError] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def error_body(code: str, message: str, details: list[FieldError] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = [
            {"field": d.field, "code": d.code, "message": d.message} for d in details
        ]
    return {"error": error}


def field_errors_from_pydantic(errors: list[Any], prefix: tuple[Any, ...] = ()) -> list[FieldError]:
    """Pydantic's error list in our words; location parts before the field are dropped."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", *prefix)]
        kind = error.get("type", "invalid")
        if kind == "extra_forbidden":
            code, message = "unknown_field", f"unknown field {'.'.join(location)!r}"
        elif kind == "missing":
            code, message = "missing_field", f"{'.'.join(location)} is required"
        else:
            code, message = "invalid_value", error.get("msg", "invalid value")
        details.append(FieldError(".".join(location) or "body", code, message))
    return details


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def error_answer(error: Exception) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """Status, body and headers for an error raised while serving a request; what is
    not ours to explain is a 500 (the caller logs it, with the request)."""
    if isinstance(error, ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return error.status, error_body(error.code, error.message, error.details), headers
    if isinstance(error, NotFoundError):
        return 404, error_body("not_found", str(error)), None
    if isinstance(error, IdempotencyConflictError):
        message = "this Idempotency-Key was used before with a different request"
        return 409, error_body("idempotency_key_reused", message), None
    if isinstance(error, StoreUnavailableError):
        message = "the database is unavailable; nothing was accepted, retry"
        return 503, error_body("unavailable", message), {"Retry-After": "1"}
    return 500, error_body("internal_error", "internal error"), None


def log_error(method: str, path: str, error: Exception) -> None:
    if isinstance(error, StoreUnavailableError):
        log.error("%s %s: store unavailable: %s", method, path, error)
    elif not isinstance(error, ApiError | NotFoundError | IdempotencyConflictError):
        log.error("%s %s failed", method, path, exc_info=error)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("invalid_json", "the request body is not valid JSON"), 400
            )
        details = field_errors_from_pydantic(errors)
        return JSONResponse(
            error_body("validation_failed", "the request is not valid", details), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(error.status_code, "error")
        return JSONResponse(
            error_body(code, str(error.detail)), error.status_code, headers=error.headers
        )

    async def ours(request: Request, error: Exception) -> JSONResponse:
        log_error(request.method, request.url.path, error)
        status, body, headers = error_answer(error)
        return JSONResponse(body, status, headers=headers)

    # One handler, registered per class: Starlette gives a handler of Exception itself
    # to its outermost middleware, which answers and then raises the error again.
    for kind in (ApiError, NotFoundError, IdempotencyConflictError, StoreUnavailableError):
        app.add_exception_handler(kind, ours)
    app.add_exception_handler(Exception, ours)
