"""A helper sender process binds for a backlog and unbinds after a quiet linger."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatti.dispatch.backlog import BacklogGate, Change


def test_it_binds_once_the_backlog_is_reached_and_not_before() -> None:
    gate = BacklogGate(backlog=100, linger_seconds=5)
    assert gate.observe(0, 0.0) is None
    assert gate.observe(99, 1.0) is None
    assert gate.observe(100, 2.0) is Change.BIND
    assert gate.bound
    assert gate.observe(5000, 3.0) is None  # bound already


def test_it_unbinds_only_after_the_backlog_stayed_below_for_the_linger() -> None:
    gate = BacklogGate(backlog=100, linger_seconds=5)
    assert gate.observe(200, 0.0) is Change.BIND
    assert gate.observe(10, 1.0) is None  # quiet from 1.0
    assert gate.observe(10, 5.9) is None
    assert gate.observe(10, 6.0) is Change.UNBIND
    assert not gate.bound
    assert gate.observe(10, 20.0) is None


def test_a_new_backlog_within_the_linger_starts_the_quiet_time_again() -> None:
    gate = BacklogGate(backlog=100, linger_seconds=5)
    gate.observe(200, 0.0)
    gate.observe(0, 1.0)
    assert gate.observe(150, 4.0) is None  # busy again: still bound, linger reset
    assert gate.observe(0, 5.0) is None
    assert gate.observe(0, 9.9) is None
    assert gate.observe(0, 10.0) is Change.UNBIND


@given(st.lists(st.tuples(st.integers(0, 300), st.floats(0, 10)), max_size=60))
def test_changes_alternate_and_follow_the_backlog(steps: list[tuple[int, float]]) -> None:
    gate = BacklogGate(backlog=100, linger_seconds=2)
    now = 0.0
    last: Change | None = None
    for due, pause in steps:
        now += pause
        change = gate.observe(due, now)
        if change is None:
            continue
        assert change is not last  # bind, unbind, bind...
        assert (change is Change.BIND) == (due >= 100)
        assert gate.bound == (change is Change.BIND)
        last = change
