"""The values the store hands out: frozen dataclasses built from rows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class MessageStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # committed to disk, waiting for a carrier
    SUBMITTED = "submitted"  # the carrier answered submit_sm with its id
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"  # bad input caught at the API; never stored as a message
    FAILED = "failed"  # the carrier refused it for good


def to_datetime(microseconds: int) -> datetime:
    return datetime.fromtimestamp(microseconds / 1_000_000, UTC)


def to_microseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    is_admin: bool
    callback_url: str | None
    created_at: int
    webhook_secret: str = ""
    webhook_batch_max: int = 100

    @classmethod
    def from_row(cls, row: Any) -> Account:
        return cls(
            row.id,
            row.name,
            bool(row.is_admin),
            row.callback_url,
            row.created_at,
            row.webhook_secret,
            row.webhook_batch_max,
        )


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    account_id: str
    prefix: str
    created_at: int
    revoked_at: int | None

    @classmethod
    def from_row(cls, row: Any) -> ApiKey:
        return cls(row.id, row.account_id, row.prefix, row.created_at, row.revoked_at)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message that passed validation, with the id it will be stored under."""

    id: str
    to_number: str
    country: str
    sender: str
    body: str
    encoding: str
    segment_count: int
    callback_url: str | None = None
    validity_period: int | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    account_id: str
    to_number: str
    country: str
    sender: str
    body: str
    encoding: str
    segment_count: int
    status: MessageStatus
    callback_url: str | None
    validity_period: int | None
    reference: str | None
    created_at: int
    updated_at: int
    attempts: int = 0
    carrier: str | None = None
    submitted_at: int | None = None
    done_at: int | None = None
    possible_duplicate: bool = False
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Message:
        return cls(
            row.id,
            row.account_id,
            row.to_number,
            row.country,
            row.sender,
            row.body,
            row.encoding,
            row.segment_count,
            MessageStatus(row.status),
            row.callback_url,
            row.validity_period,
            row.reference,
            row.created_at,
            row.updated_at,
            row.attempts,
            row.carrier,
            row.submitted_at,
            row.done_at,
            bool(row.possible_duplicate),
            row.last_error,
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: MessageStatus
    occurred_at: int
    detail: str | None

    @classmethod
    def from_row(cls, row: Any) -> StatusChange:
        return cls(MessageStatus(row.status), row.occurred_at, row.detail)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer given the first time an idempotency key was used."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    request_hash: str
    response: StoredResponse


MAX_BINDS = 32  # connections to one carrier from one sender process


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind_type: str = "transceiver"
    window: int = 10
    max_tps: int = 0
    binds: int = 1  # connections to the carrier, each with its own window

    @classmethod
    def from_row(cls, row: Any) -> Carrier:
        return cls(
            row.name,
            row.host,
            row.port,
            row.system_id,
            row.password,
            row.system_type,
            row.bind_type,
            row.window,
            row.max_tps,
            row.binds,
        )


@dataclass(frozen=True, slots=True)
class Route:
    match: str
    carriers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Part:
    """One segment of a message as the carrier knows it: the proof of submission."""

    number: int
    carrier: str | None
    carrier_message_id: str | None
    status: str
    submitted_at: int | None
    receipt_at: int | None
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> Part:
        return cls(
            row.number,
            row.carrier,
            row.carrier_message_id,
            row.status,
            row.submitted_at,
            row.receipt_at,
            row.error,
        )
