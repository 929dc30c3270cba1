from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import ENGINES, database_url_for
from tests.servers import ChattiServer


@pytest.fixture(scope="module", params=ENGINES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChattiServer]:
    """One `chatti serve` per engine and test module; each test makes its own accounts."""
    directory: Path = tmp_path_factory.mktemp(f"chatti-{request.param}")
    with database_url_for(request.param, directory) as url:
        running = ChattiServer(directory, url)
        running.start()
        try:
            yield running
        finally:
            running.stop()
