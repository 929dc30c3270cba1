"""The machine's speed of the minute: CPU seconds of a fixed pure-Python loop.

    python bench/calibrate.py

The 2-core virtual machine's cores change speed from one minute to the next (0.39 - 0.80 s
seen for this loop), so figures are compared only between runs of similar calibration
(docs/performance.md). The loop runs at module level, on global names, as the figures
recorded since the second round were taken: inside a function it takes about half as long.
"""

from __future__ import annotations

import time

started = time.process_time()
total = 0
for number in range(5_000_000):
    total += number * 3
print(f"calibration {time.process_time() - started:.2f} s")
