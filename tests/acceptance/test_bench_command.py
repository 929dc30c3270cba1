"""`chatti bench` keeps its command line and JSON shape: scripts outside rely on them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatti.config import default_sender_processes
from chatti.store import queries
from chatti.store.engine import Store
from chatti.store.migrate import upgrade
from tests.databases import ENGINES, database_url_for


def test_end_to_end_bench_json() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatti",
            "bench",
            "--messages",
            "600",
            "--api",
            "single",
            "--concurrency",
            "10",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    body = json.loads(result.stdout)
    for key in ("end_to_end_rate", "accept_rate", "lost", "duplicates", "latency_ms"):
        assert key in body
    assert (body["lost"], body["duplicates"], body["messages"]) == (0, 0, 600)
    assert body["end_to_end_rate"] > 0
    assert body["processes"]["chatti serve: sender process"]["cpu_seconds"] > 0
    for stage in ("request_to_202", "accepted_to_submitted", "submitted_to_receipt"):
        assert set(body["latency_ms"][stage]) == {"p50", "p95", "p99"}
    # by default the node's own default (two sender processes on two cores), with a
    # bind to the simulator for each
    expected = default_sender_processes()
    assert (body["sender_processes"], body["binds"]) == (expected, expected)
    senders = {"chatti serve: sender process"} | {
        f"chatti serve: sender process {n}" for n in range(2, body["sender_processes"] + 1)
    }
    assert set(body["processes"]) == {
        "chatti serve",
        *senders,
        "simulator",
        "webhook receiver",
        "load client",
    }


def test_smpp_bench_still_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatti", "bench", "smpp", "--messages", "2000", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    body = json.loads(result.stdout)
    assert body["loopback"]["simulator_submits"] == 2000


@pytest.mark.parametrize("engine", ENGINES)
def test_bench_refuses_a_database_that_is_in_use(engine: str, tmp_path: Path) -> None:
    with database_url_for(engine, tmp_path) as url:

        async def use() -> None:
            store = Store(url)
            try:
                await upgrade(store)
                await queries.create_account(store, "someone's")
            finally:
                await store.close()

        asyncio.run(use())
        result = subprocess.run(
            [sys.executable, "-m", "chatti", "bench", "--messages", "100", "--database-url", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "already holds 1 account(s)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["--binds", "--sender-processes"])
@pytest.mark.parametrize("value", ["0", "two"])
def test_bench_refuses_a_count_below_one(option: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatti", "bench", option, value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"argument {option}: a whole number of 1 or more" in result.stderr
    assert "Traceback" not in result.stderr
