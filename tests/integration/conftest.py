from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from chatti.store.engine import Store
from chatti.store.migrate import upgrade
from tests.databases import ENGINES, fresh_database


@pytest_asyncio.fixture(params=ENGINES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated, empty store on each engine."""
    async with fresh_database(request.param, tmp_path) as url:
        opened = Store(url)
        await upgrade(opened)
        yield opened
        await opened.close()
