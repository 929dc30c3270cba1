"""A carrier's binds are the node's: its sender processes share them out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti.carriers.pool import bind_share


@pytest.mark.parametrize(
    ("binds", "processes", "shares"),
    [
        (1, 1, [1]),
        (4, 1, [4]),
        (2, 2, [1, 1]),
        (3, 2, [2, 1]),
        (7, 3, [3, 2, 2]),
        (1, 2, [1, 1]),  # fewer binds than processes: one each (the pool warns)
    ],
)
def test_binds_are_split_evenly_the_first_processes_taking_the_rest(
    binds: int, processes: int, shares: list[int]
) -> None:
    assert [bind_share(binds, processes, index) for index in range(processes)] == shares


@given(st.integers(1, 32), st.integers(1, 8))
def test_the_shares_add_up_to_the_carriers_binds_when_there_are_enough(
    binds: int, processes: int
) -> None:
    shares = [bind_share(binds, processes, index) for index in range(processes)]
    assert all(share >= 1 for share in shares)
    assert sum(shares) == max(binds, processes)
    assert max(shares) - min(shares) <= 1


@pytest.mark.parametrize(("processes", "index"), [(2, 2), (2, -1), (0, 0)])
def test_an_index_outside_the_nodes_processes_is_refused(processes: int, index: int) -> None:
    with pytest.raises(ValueError, match="sender process"):
        bind_share(3, processes, index)
