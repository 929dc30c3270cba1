from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatti.bench.ports import free_port
from tests.databases import ENGINES, database_url_for
from tests.servers import ChattiServer


def unreachable_carrier() -> str:
    """A carrier nobody answers for: messages stay `accepted`, so API tests see exactly
    what they sent (the sending tests use real carriers)."""
    return (
        f'[[carriers]]\nname = "nowhere"\nhost = "127.0.0.1"\nport = {free_port()}\n'
        'system_id = "chatti"\npassword = "x"\n\n[[routes]]\nmatch = "*"\ncarriers = ["nowhere"]\n'
    )


@pytest.fixture(scope="module", params=ENGINES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChattiServer]:
    """One `chatti serve` per engine and test module; each test makes its own accounts."""
    directory: Path = tmp_path_factory.mktemp(f"chatti-{request.param}")
    with database_url_for(request.param, directory) as url:
        running = ChattiServer(directory, url, extra_config=unreachable_carrier())
        running.start()
        try:
            yield running
        finally:
            running.stop()
