"""Settings of a Chatti node: from command-line options and an optional TOML file.

    [database]
    url = "sqlite:///chatti-data/chatti.db"     # or "postgresql://user:password@host/db"

    [api]
    max_batch = 10000                           # messages in one POST /v1/messages/batch
    max_body_bytes = 33554432                   # larger request bodies get 413

With no file, the database is SQLite at DATA_DIR/chatti.db.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatti.store.engine import sqlite_url

DEFAULT_MAX_BATCH = 10_000
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # a full batch of long texts fits; more is refused


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
    database = _table(document, "database")
    api = _table(document, "api")
    url = database.get("url", sqlite_url(data_dir / "chatti.db"))
    if not isinstance(url, str) or not url:
        raise ConfigError("[database] url must be a non-empty string")
    return Settings(
        database_url=url,
        data_dir=data_dir,
        host=host,
        port=port,
        max_batch=_positive_int(api, "max_batch", DEFAULT_MAX_BATCH),
        max_body_bytes=_positive_int(api, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
    )


def _table(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _positive_int(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    return value
