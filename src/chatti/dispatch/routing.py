"""Choosing carriers for a number. Pure.

The route table maps a match to carriers in order of preference. The most specific
match wins: the longest number prefix ("+4915"), then the country ("DE"), then the
default ("*"). The order of the table only breaks ties between equal matches.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatti.store.models import Route


def carriers_for(routes: Sequence[Route], to_number: str, country: str) -> tuple[str, ...]:
    best: Route | None = None
    best_rank = -1
    for route in routes:
        rank = _rank(route.match, to_number, country)
        if rank > best_rank:
            best, best_rank = route, rank
    return best.carriers if best is not None else ()


def _rank(match: str, to_number: str, country: str) -> int:
    if match == "*":
        return 0
    if match.startswith("+"):
        return 100 + len(match) if to_number.startswith(match) else -1
    return 50 if match == country else -1
