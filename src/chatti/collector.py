"""CPython's cyclic garbage collector, set for a long-running process.

By default a young-generation collection runs every 700 net allocations of container
objects, and a full one after a hundred of those. Chatti allocates in bursts (a batch
of messages in flight is thousands of rows, PDUs and futures at once), so the young
collections ran over a hundred times a second, and every full one walked the 70,000 -
120,000 objects left by the imports: about 40 ms with the event loop stalled. In all
it was 6 % of a benchmark run's CPU (docs/performance.md). Two settings take it away:

- A young threshold of 10,000: a burst's objects are freed by reference counting
  before any collection looks at them. Garbage in reference cycles is still collected
  after at most 10,000 net allocations, so memory stays bounded.
- The objects alive once the process has started (modules, classes, SQLAlchemy's
  metadata) are frozen: no collection walks them again.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000


def tune_for_service() -> None:
    """Call once the process has imported what it runs, before it starts serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    log.info(
        "garbage collector: %d objects frozen, young threshold %d",
        gc.get_freeze_count(),
        YOUNG_THRESHOLD,
    )
