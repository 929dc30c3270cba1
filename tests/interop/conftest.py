"""Peers we did not write. In CI (CI=true) none of them may be skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def require_node_smpp() -> str:
    node = shutil.which("node")
    installed = (HERE / "node_modules" / "smpp").is_dir()
    if node and installed:
        return node
    reason = "node-smpp is not installed (run `make test`, which runs npm ci in tests/interop)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run every interop test: {reason}")
    pytest.skip(reason)
