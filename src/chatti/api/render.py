"""Store values as the API's JSON."""

from __future__ import annotations

from typing import Any

from chatti.store.models import (
    Account,
    ApiKey,
    Carrier,
    Message,
    Part,
    Route,
    StatusChange,
    to_datetime,
)


def timestamp(microseconds: int | None) -> str | None:
    if microseconds is None:
        return None
    return to_datetime(microseconds).isoformat(timespec="microseconds").replace("+00:00", "Z")


def message(
    value: Message,
    history: list[StatusChange] | None = None,
    parts: list[Part] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": value.id,
        "status": value.status.value,
        "to": value.to_number,
        "from": value.sender,
        "country": value.country,
        "text": value.body,
        "encoding": value.encoding,
        "segments": value.segment_count,
        "callback_url": value.callback_url,
        "validity_period": value.validity_period,
        "reference": value.reference,
        "created_at": timestamp(value.created_at),
        "updated_at": timestamp(value.updated_at),
        "carrier": value.carrier,
        "submitted_at": timestamp(value.submitted_at),
        "done_at": timestamp(value.done_at),
        "attempts": value.attempts,
        "possible_duplicate": value.possible_duplicate,
    }
    if history is not None:
        body["history"] = [
            {
                "status": change.status.value,
                "at": timestamp(change.occurred_at),
                "detail": change.detail,
            }
            for change in history
        ]
    if parts is not None:
        body["parts"] = [
            {
                "number": part.number,
                "carrier": part.carrier,
                "carrier_message_id": part.carrier_message_id,
                "status": part.status,
                "submitted_at": timestamp(part.submitted_at),
                "receipt_at": timestamp(part.receipt_at),
                "error": part.error,
            }
            for part in parts
        ]
    return body


def account(value: Account, *, with_secret: bool = False) -> dict[str, Any]:
    body = {
        "id": value.id,
        "name": value.name,
        "admin": value.is_admin,
        "callback_url": value.callback_url,
        "webhook_batch_max": value.webhook_batch_max,
        "created_at": timestamp(value.created_at),
    }
    if with_secret:
        body["webhook_secret"] = value.webhook_secret
    return body


def api_key(value: ApiKey) -> dict[str, Any]:
    return {
        "id": value.id,
        "account_id": value.account_id,
        "prefix": value.prefix,
        "created_at": timestamp(value.created_at),
        "revoked_at": timestamp(value.revoked_at),
    }


def carrier(value: Carrier) -> dict[str, Any]:
    """The password never leaves the server."""
    return {
        "name": value.name,
        "host": value.host,
        "port": value.port,
        "system_id": value.system_id,
        "system_type": value.system_type,
        "bind_type": value.bind_type,
        "window": value.window,
        "max_tps": value.max_tps,
        "binds": value.binds,
    }


def route(value: Route) -> dict[str, Any]:
    return {"match": value.match, "carriers": list(value.carriers)}
