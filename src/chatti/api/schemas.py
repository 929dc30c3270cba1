"""Request bodies as Pydantic models. They live at the HTTP edge only: routes turn them
into store values at once."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chatti.store.models import MAX_BINDS


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False)

    to: str = Field(max_length=32)
    from_: str = Field(alias="from", max_length=32)
    text: str
    callback_url: str | None = None
    validity_period: int | None = Field(default=None, description="seconds")
    reference: str | None = Field(default=None, max_length=128)


class BatchRequest(BaseModel):
    """Items are checked one by one, so one bad message does not refuse the rest."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Any]


class AccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    admin: bool = False
    callback_url: str | None = None
    webhook_batch_max: int = Field(default=100, ge=1, le=1000)


class AccountUpdate(BaseModel):
    """PATCH /v1/account: what an account may change about itself."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    webhook_batch_max: int | None = Field(default=None, ge=1, le=1000)


class CarrierRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15)
    password: str = Field(default="", max_length=8)
    system_type: str = Field(default="", max_length=12)
    bind_type: str = Field(default="transceiver", pattern="^(transmitter|receiver|transceiver)$")
    window: int = Field(default=10, ge=1, le=1000)
    max_tps: int = Field(default=0, ge=0)
    binds: int = Field(default=1, ge=1, le=MAX_BINDS)


class RouteItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: str = Field(pattern=r"^(\*|[A-Z]{2}|\+[0-9]{1,15})$")
    carriers: list[str] = Field(min_length=1)


class RoutesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: list[RouteItem]
