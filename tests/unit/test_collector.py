"""The garbage collector's settings for Chatti's processes, checked in a child process
(freezing this one's objects would change the rest of the test run)."""

import json
import subprocess
import sys
import textwrap

from chatti import collector

CHILD = textwrap.dedent(
    """
    import gc, json, weakref
    from chatti import collector
    import chatti.sender  # what a sender process has imported when it tunes

    alive_at_start = len(gc.get_objects())
    collector.tune_for_service()
    frozen = gc.get_freeze_count()

    class Node:
        pass

    alive = weakref.WeakSet()
    most = 0
    for _ in range(100_000):  # cyclic garbage, freed only by the collector
        node = Node()
        node.me = node
        alive.add(node)
        del node
        most = max(most, len(alive))
    print(json.dumps({
        "threshold": gc.get_threshold()[0], "frozen": frozen,
        "alive_at_start": alive_at_start, "most_cycles_alive": most,
    }))
    """
)


def test_startup_objects_are_frozen_and_young_collections_are_rarer() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    figures = json.loads(result.stdout)
    assert figures["threshold"] == collector.YOUNG_THRESHOLD
    assert figures["frozen"] >= 0.9 * figures["alive_at_start"]
    # Cycles are still collected: memory stays bounded by the threshold, not the run.
    assert 0 < figures["most_cycles_alive"] <= collector.YOUNG_THRESHOLD
