"""A carrier's binds are the node's: its sender processes share them out, and a process
that cannot have a bind to every carrier holds none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti.carriers.pool import bind_share, serving_processes
from chatti.store.models import Carrier


@pytest.mark.parametrize(
    ("binds", "processes", "shares"),
    [
        (1, 1, [1]),
        (4, 1, [4]),
        (2, 2, [1, 1]),
        (3, 2, [2, 1]),
        (7, 3, [3, 2, 2]),
    ],
)
def test_binds_are_split_evenly_the_first_processes_taking_the_rest(
    binds: int, processes: int, shares: list[int]
) -> None:
    assert [bind_share(binds, processes, index) for index in range(processes)] == shares


@given(st.integers(1, 32), st.integers(1, 8))
def test_the_shares_of_the_serving_processes_add_up_to_the_carriers_binds(
    binds: int, processes: int
) -> None:
    serving = serving_processes([_carrier("a", binds)], processes)
    shares = [bind_share(binds, serving, index) for index in range(serving)]
    assert all(share >= 1 for share in shares)
    assert sum(shares) == binds  # never more than the carrier granted
    assert max(shares) - min(shares) <= 1


def _carrier(name: str, binds: int) -> Carrier:
    return Carrier(name, "127.0.0.1", 2775, "chatti", "x", binds=binds)


@pytest.mark.parametrize(
    ("binds", "processes", "serving"),
    [
        ([], 2, 2),  # no carrier yet: nothing to share
        ([1], 1, 1),
        ([1], 2, 1),  # one bind: the second process stays unbound
        ([4, 1], 2, 1),  # one carrier short is enough
        ([2, 3], 2, 2),
        ([2, 3], 4, 2),
    ],
)
def test_only_as_many_processes_serve_as_the_fewest_binds_allow(
    binds: list[int], processes: int, serving: int
) -> None:
    carriers = [_carrier(f"c{number}", count) for number, count in enumerate(binds)]
    assert serving_processes(carriers, processes) == serving


@pytest.mark.parametrize(("processes", "index"), [(2, 2), (2, -1), (0, 0)])
def test_an_index_outside_the_serving_processes_is_refused(processes: int, index: int) -> None:
    with pytest.raises(ValueError, match="sender process"):
        bind_share(3, processes, index)
