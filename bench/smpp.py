"""The SMPP benchmark as a script: `python bench/smpp.py [--messages N] [--window W] [--json]`.

The same as `chatti bench smpp`; see docs/performance.md for the recorded figures.
"""

from __future__ import annotations

import sys

from chatti.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "smpp", *sys.argv[1:]]))
