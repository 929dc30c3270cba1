"""Running the Alembic revisions in migrations/ against the open store.

`chatti serve` upgrades at start; `chatti db upgrade` does it alone. Revisions are
written for rolling upgrades: add a column or table in one release, stop using and
remove the old one in a later release, so nodes of two versions can share a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from chatti.store.engine import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(store: Store, revision: str = "head") -> None:
    def run(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with store.engine.begin() as connection:
        await connection.run_sync(run)
