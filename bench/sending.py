"""End to end on one machine: HTTP in, SMPP out to a simulator process, receipts back.

    python bench/sending.py [--messages 20000] [--batch-size 1000] [--window 100]
                            [--dlr-delay-ms 10]

Starts `chatti simulator` and `chatti serve` (SQLite) as separate processes, posts the
messages through the batch endpoint, and watches the database until every message is
delivered. Prints accepted, submitted and delivered per second (each from the first
POST), and the simulator's counts (submits must equal messages, duplicates 0). The
formal `chatti bench` (issue #6) will replace this script.
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


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        rows = connection.execute(
            "SELECT status, count(*) FROM messages GROUP BY status"
        ).fetchall()
    return dict(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--dlr-delay-ms", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        smpp_port, stats_port, api_port = free_port(), free_port(), free_port()
        simulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chatti",
                "simulator",
                "--port",
                str(smpp_port),
                "--stats-port",
                str(stats_port),
                "--dlr-delay-ms",
                str(args.dlr_delay_ms),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        (data / "chatti.toml").write_text(
            f'[[carriers]]\nname = "sim"\nhost = "127.0.0.1"\nport = {smpp_port}\n'
            f'system_id = "chatti"\npassword = "x"\nwindow = {args.window}\n\n'
            '[[routes]]\nmatch = "*"\ncarriers = ["sim"]\n'
        )
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chatti",
                "serve",
                "--data-dir",
                str(data),
                "--config",
                str(data / "chatti.toml"),
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(smpp_port)
            wait_for_port(api_port, 30)
            key = (data / "demo-api-key").read_text().strip()
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{api_port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            started = time.perf_counter()
            for start in range(0, args.messages, args.batch_size):
                batch = {
                    "messages": [
                        {"to": f"+491511{n:07d}", "from": "Chatti", "text": f"Your code is {n:06d}"}
                        for n in range(start, min(args.messages, start + args.batch_size))
                    ]
                }
                assert client.post("/v1/messages/batch", json=batch).status_code == 202
            accepted_at = time.perf_counter() - started
            submitted_at = delivered_at = None
            while delivered_at is None and time.perf_counter() - started < 600:
                seen = counts(data / "chatti.db")
                if submitted_at is None and seen.get("accepted", 0) == 0:
                    submitted_at = time.perf_counter() - started
                if seen.get("delivered", 0) == args.messages:
                    delivered_at = time.perf_counter() - started
                time.sleep(0.1)
            with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats") as reply:
                stats = json.load(reply)
        finally:
            serve.terminate()
            serve.wait(30)
            simulator.terminate()
            simulator.wait(30)
    n = args.messages
    print(
        f"{n:,} messages, batches of {args.batch_size}, window {args.window}, "
        f"receipts after {args.dlr_delay_ms} ms"
    )
    print(f"accepted:  {n / accepted_at:,.0f}/s  (all in {accepted_at:.1f} s)")
    if submitted_at is not None:
        print(f"submitted: {n / submitted_at:,.0f}/s  (all in {submitted_at:.1f} s)")
    if delivered_at is not None:
        print(f"delivered: {n / delivered_at:,.0f}/s  (all in {delivered_at:.1f} s)")
    print(
        f"simulator: submits {stats['submits']:,}, duplicates {stats['duplicates']},"
        f" receipts acknowledged {stats['receipts_acked']:,}"
    )
    return 0 if delivered_at is not None and stats["submits"] == n else 1


if __name__ == "__main__":
    sys.exit(main())
