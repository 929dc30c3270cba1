"""Restart with a backlog: how long until a killed node serves again and has submitted
everything it had accepted.

    python bench/recovery.py [--messages 100000]

1. `chatti simulator` (separate process) is told to go down; `chatti serve` accepts the
   messages, which wait on disk (no carrier bound).
2. `chatti serve` is killed with SIGKILL; the simulator comes back up.
3. `chatti serve` starts again: the script measures the time to answer /healthz, to be
   ready (carrier bound), to submit the whole backlog and to see it delivered.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

from chatti.bench.ports import free_port, wait_for_port
from chatti.bench.processes import carrier_toml, child_processes, serve_command, start_simulator
from chatti.config import default_sender_processes


def status_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM messages GROUP BY status"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def node_rss_mb(pid: int) -> dict[str, float]:
    """RSS of `chatti serve` and of each process it started (its sender processes)."""
    found = {"api process": rss_mb(pid)}
    for name, child in child_processes(pid).items():
        found[name] = rss_mb(child)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--binds",
        type=int,
        default=default_sender_processes(),
        help="the simulator carrier's binds (default: one per default sender process)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        smpp, stats, api = free_port(), free_port(), free_port()
        simulator = start_simulator(smpp, stats, "--dlr-delay-ms", "10")

        def control(path: str) -> None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{stats}{path}", data=b"", method="POST"
            )
            urllib.request.urlopen(request, timeout=10).close()

        control("/down")
        (data / "chatti.toml").write_text(carrier_toml(smpp, binds=args.binds))
        command = serve_command(data, api)
        serve = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(api, 30)
            key = (data / "demo-api-key").read_text().strip()
            with httpx.Client(
                base_url=f"http://127.0.0.1:{api}",
                timeout=120,
                headers={"Authorization": f"Bearer {key}"},
            ) as client:
                for start in range(0, args.messages, 1000):
                    batch = {
                        "messages": [
                            {"to": f"+491511{n:07d}", "from": "Chatti", "text": f"backlog {n}"}
                            for n in range(start, min(args.messages, start + 1000))
                        ]
                    }
                    assert client.post("/v1/messages/batch", json=batch).status_code == 202
            memory_with_backlog = node_rss_mb(serve.pid)
            serve.kill()
            serve.wait()
            control("/up")
            restarted = time.perf_counter()
            serve = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            healthy = ready = submitted = delivered = None
            peak: dict[str, float] = {}
            counted = 0.0
            with httpx.Client(base_url=f"http://127.0.0.1:{api}", timeout=5) as client:
                while delivered is None and time.perf_counter() - restarted < 900:
                    elapsed = time.perf_counter() - restarted
                    try:
                        if healthy is None and client.get("/healthz").status_code == 200:
                            healthy = elapsed
                        if ready is None and client.get("/readyz").status_code == 200:
                            ready = elapsed
                    except httpx.HTTPError:
                        pass
                    # Counting is a GROUP BY over every message: once a second, not more.
                    if healthy is not None and time.perf_counter() - counted >= 1.0:
                        counted = time.perf_counter()
                        for name, used in node_rss_mb(serve.pid).items():
                            peak[name] = max(peak.get(name, 0.0), used)
                        counts = status_counts(data / "chatti.db")
                        if submitted is None and counts.get("accepted", 0) == 0:
                            submitted = elapsed
                        if counts.get("delivered", 0) == args.messages:
                            delivered = elapsed
                    time.sleep(0.05)
            with urllib.request.urlopen(f"http://127.0.0.1:{stats}/stats") as reply:
                sim = json.load(reply)
        finally:
            serve.kill()
            serve.wait()
            simulator.terminate()
            simulator.wait()
    print(
        f"backlog of {args.messages:,} accepted messages; node RSS with the backlog: "
        + ", ".join(f"{name} {used:.0f} MB" for name, used in memory_with_backlog.items())
    )
    print(
        "peak RSS while draining it after the restart: "
        + ", ".join(f"{name} {used:.0f} MB" for name, used in peak.items())
    )
    print(f"after SIGKILL and restart: /healthz in {healthy:.2f} s, ready (bound) in {ready:.2f} s")
    print(
        f"backlog submitted in {submitted:.1f} s, delivered in {delivered:.1f} s"
        f" ({args.messages / submitted:,.0f} submitted/s)"
    )
    print(f"simulator: submits {sim['submits']:,}, duplicates {sim['duplicates']}")
    return 0 if sim["submits"] - sim["duplicates"] == args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
