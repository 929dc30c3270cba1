"""Settings of a Chatti node: from command-line options and an optional TOML file.

    [database]
    url = "sqlite:///chatti-data/chatti.db"     # or "postgresql://user:password@host/db"

    [[carriers]]
    name = "acme"
    host = "127.0.0.1"
    port = 2775
    system_id = "chatti"
    password = "secret"
    window = 100          # submits in flight on the bind
    max_tps = 0           # 0 = no limit

    [[routes]]
    match = "*"           # "*", a country ("DE") or a number prefix ("+4915")
    carriers = ["acme"]   # in order of preference

docs/config.md lists every key. With no file the database is SQLite at DATA_DIR/chatti.db
and, with no carrier anywhere, a simulated carrier is started on loopback.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatti.dispatch.worker import DispatchSettings
from chatti.store.engine import sqlite_url
from chatti.store.models import MAX_BINDS, Carrier, Route
from chatti.webhooks.retry import WebhookRetry
from chatti.webhooks.sender import WebhookSettings

DEFAULT_MAX_BATCH = 10_000
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # a full batch of long texts fits; more is refused
# The due messages counted include those claimed and in hand (up to workers x batch_size,
# 1,000, a process): a helper binds for a backlog well beyond that.
DEFAULT_HELPER_BACKLOG = 5000
DEFAULT_HELPER_LINGER_SECONDS = 10.0
_DISPATCH = DispatchSettings()
_ROUTE_MATCH = re.compile(r"^(\*|[A-Z]{2}|\+[0-9]{1,15})$")


class ConfigError(ValueError):
    """The config file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    max_batch: int = DEFAULT_MAX_BATCH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    auth_cache_seconds: float = 5.0  # a revoked key stops working within this time
    migrate_on_start: bool = True
    carriers: tuple[Carrier, ...] = ()
    routes: tuple[Route, ...] = ()
    simulator: bool = True  # start a simulated carrier when no carrier is configured anywhere
    # Unique among the nodes sharing a database, and the same across restarts of one
    # node, so that a restarted node takes back at once what it held when it died.
    node_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # The carrier side (binds, dispatcher, receipts) in a process of its own beside the
    # API, so that a node uses two cores; `chatti serve` does so unless
    # [sending] separate_process = false. In-process nodes (tests) keep one process.
    separate_process: bool = False
    # How many such processes: each claims its own messages and holds its share of
    # every carrier's binds (carriers.pool.bind_share), with the same share of max_tps.
    sender_processes: int = 1
    sender_index: int = 0  # which of them this process is (0-based; 0 in the API's)
    # Those after the first (helpers) bind only while at least this many messages are
    # due, and unbind once fewer were due for the linger (dispatch/backlog.py); a
    # backlog of 0 keeps them always bound.
    helper_backlog: int = DEFAULT_HELPER_BACKLOG
    helper_linger_seconds: float = DEFAULT_HELPER_LINGER_SECONDS
    config_file: Path | None = None  # where these settings came from, for that process


def default_sender_processes() -> int:
    """Two where there are two cores: the second process binds only for a backlog and
    only where every carrier grants a bind for it (carriers.pool.serving_processes)."""
    return min(2, os.cpu_count() or 1)


def load_settings(
    data_dir: Path, config_file: Path | None = None, host: str = "127.0.0.1", port: int = 8080
) -> Settings:
    document: dict[str, Any] = {}
    if config_file is not None:
        try:
            document = tomllib.loads(config_file.read_text())
        except OSError as error:
            raise ConfigError(f"cannot read {config_file}: {error.strerror}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_file}: {error}") from error
    unknown = set(document) - {"database", "api", "carriers", "routes", "sending", "webhooks"}
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(unknown))}")
    database = _table(document, "database")
    api = _table(document, "api")
    sending = _table(document, "sending")
    webhooks = _table(document, "webhooks")
    url = database.get("url", sqlite_url(data_dir / "chatti.db"))
    if not isinstance(url, str) or not url:
        raise ConfigError("[database] url must be a non-empty string")
    carriers = tuple(_carrier(item) for item in _array(document, "carriers"))
    routes = tuple(_route(item) for item in _array(document, "routes"))
    names = {carrier.name for carrier in carriers}
    for route in routes:
        missing = [name for name in route.carriers if name not in names]
        if carriers and missing:
            raise ConfigError(
                f"route {route.match!r} names unknown carrier(s) {', '.join(missing)}"
            )
    node_id = sending.get("node_id", f"{socket.gethostname()}:{port}")
    if not isinstance(node_id, str) or not 0 < len(node_id) <= 64:
        raise ConfigError("[sending] node_id is a string of 1 to 64 characters")
    separate = sending.get("separate_process", True)
    if not isinstance(separate, bool):
        raise ConfigError("[sending] separate_process is true or false")
    processes = _positive_int(sending, "processes", default_sender_processes() if separate else 1)
    if processes > 1 and not separate:
        raise ConfigError("[sending] processes > 1 needs separate_process = true")
    if processes > 1 and len(node_id) > 64 - len(f"#{processes}"):
        raise ConfigError("[sending] node_id is too long to name several sender processes")
    return Settings(
        database_url=url,
        data_dir=data_dir,
        separate_process=separate,
        sender_processes=processes,
        helper_backlog=_non_negative_int(sending, "helper_backlog", DEFAULT_HELPER_BACKLOG),
        helper_linger_seconds=_positive_number(
            sending, "helper_linger_seconds", DEFAULT_HELPER_LINGER_SECONDS
        ),
        config_file=config_file,
        host=host,
        port=port,
        node_id=node_id,
        max_batch=_positive_int(api, "max_batch", DEFAULT_MAX_BATCH),
        max_body_bytes=_positive_int(api, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        carriers=carriers,
        routes=routes,
        dispatch=DispatchSettings(
            batch_size=_positive_int(sending, "batch_size", _DISPATCH.batch_size),
            lease_seconds=_positive_number(sending, "lease_seconds", _DISPATCH.lease_seconds),
            workers=_positive_int(sending, "workers", _DISPATCH.workers),
            default_validity_seconds=_positive_int(
                sending, "default_validity_seconds", _DISPATCH.default_validity_seconds
            ),
        ),
        webhooks=WebhookSettings(
            retry=WebhookRetry(
                initial_seconds=_positive_number(webhooks, "retry_initial_seconds", 5.0),
            ),
            concurrency=_positive_int(webhooks, "concurrency", 32),
            claim_size=_positive_int(webhooks, "claim_size", _WEBHOOKS.claim_size),
        ),
    )


_WEBHOOKS = WebhookSettings()


_SECTION_KEYS = {
    "database": {"url"},
    "api": {"max_batch", "max_body_bytes"},
    "sending": {
        "node_id",
        "separate_process",
        "processes",
        "helper_backlog",
        "helper_linger_seconds",
        "batch_size",
        "lease_seconds",
        "workers",
        "default_validity_seconds",
    },
    "webhooks": {"retry_initial_seconds", "concurrency", "claim_size"},
}


def _table(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name, {})
    if isinstance(value, dict) and (unknown := set(value) - _SECTION_KEYS[name]):
        raise ConfigError(f"[{name}] unknown key(s): {', '.join(sorted(unknown))}")
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _array(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = document.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"[[{name}]] must be an array of tables")
    return value


def _positive_int(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    return value


def _non_negative_int(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{key} must be an integer of 0 or more, got {value!r}")
    return value


def _positive_number(table: dict[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{key} must be a positive number, got {value!r}")
    return float(value)


_CARRIER_KEYS = {
    "name",
    "host",
    "port",
    "system_id",
    "password",
    "system_type",
    "bind_type",
    "window",
    "max_tps",
    "binds",
}


def _carrier(item: dict[str, Any]) -> Carrier:
    unknown = set(item) - _CARRIER_KEYS
    if unknown:
        raise ConfigError(f"[[carriers]] unknown key(s): {', '.join(sorted(unknown))}")
    try:
        carrier = Carrier(
            name=str(item["name"]),
            host=str(item["host"]),
            port=int(item["port"]),
            system_id=str(item["system_id"]),
            password=str(item.get("password", "")),
            system_type=str(item.get("system_type", "")),
            bind_type=str(item.get("bind_type", "transceiver")),
            window=int(item.get("window", 10)),
            max_tps=int(item.get("max_tps", 0)),
            binds=int(item.get("binds", 1)),
        )
    except KeyError as error:
        raise ConfigError(f"[[carriers]] needs {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[[carriers]] {item.get('name', '?')}: {error}") from None
    if carrier.bind_type not in ("transmitter", "receiver", "transceiver"):
        raise ConfigError(
            f"carrier {carrier.name}: bind_type is transmitter, receiver or transceiver"
        )
    if not 0 < carrier.port < 65536 or carrier.window < 1 or carrier.max_tps < 0:
        raise ConfigError(f"carrier {carrier.name}: port, window or max_tps out of range")
    if not 0 < carrier.binds <= MAX_BINDS:
        raise ConfigError(f"carrier {carrier.name}: binds is 1 to {MAX_BINDS}")
    if len(carrier.system_id) > 15 or len(carrier.password) > 8:
        raise ConfigError(
            f"carrier {carrier.name}: system_id <= 15 and password <= 8 characters (SMPP 3.4)"
        )
    return carrier


def _route(item: dict[str, Any]) -> Route:
    match = item.get("match")
    carriers = item.get("carriers")
    if not isinstance(match, str) or not _ROUTE_MATCH.match(match):
        raise ConfigError(
            f'[[routes]] match is "*", a country ("DE") or a prefix ("+4915"), got {match!r}'
        )
    if (
        not isinstance(carriers, list)
        or not carriers
        or not all(isinstance(c, str) for c in carriers)
    ):
        raise ConfigError(f"[[routes]] {match}: carriers is a non-empty list of carrier names")
    return Route(match, tuple(carriers))
