"""How fast `chatti serve` accepts messages: batch and single-message endpoints.

    python bench/accept.py [--messages 20000] [--batch-size 1000] [--concurrency 50]
                           [--database-url URL]

Starts `chatti serve` on a fresh SQLite file (or the given database), then posts
messages with httpx from this process and prints accepted per second and the latency
of single posts. The sender is not running yet, so this measures the accept path only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from chatti.bench.http_load import LoadResult, run_load
from chatti.bench.ports import free_port, wait_for_port
from chatti.bench.processes import carrier_toml, serve_command


def message(number: int) -> dict[str, str]:
    return {"to": f"+491511{number:07d}", "from": "Chatti", "text": f"Your code is {number:06d}"}


async def run_batches(client: httpx.AsyncClient, total: int, size: int) -> float:
    started = time.perf_counter()
    for start in range(0, total, size):
        batch = {"messages": [message(n) for n in range(start, min(total, start + size))]}
        reply = await client.post("/v1/messages/batch", json=batch)
        assert reply.status_code == 202, reply.text
    return total / (time.perf_counter() - started)


async def run_singles(port: int, key: str, total: int, concurrency: int) -> LoadResult:
    requests = (("POST", "/v1/messages", message(n)) for n in range(total))
    return await run_load(
        "127.0.0.1", port, requests, {"Authorization": f"Bearer {key}"}, concurrency
    )


async def measure(port: int, key: str, args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=60
    ) as client:
        batch_rate = await run_batches(client, args.messages, args.batch_size)
    singles = await run_singles(port, key, args.messages // 2, args.concurrency)
    assert singles.statuses == {202: args.messages // 2}, singles.statuses
    single_rate = singles.rate
    cuts = statistics.quantiles(singles.latencies, n=100)
    print(f"batch  ({args.batch_size}/request): {batch_rate:,.0f} messages/s accepted")
    print(
        f"single (concurrency {args.concurrency}): {single_rate:,.0f} messages/s accepted;"
        f" request->202 p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms,"
        f" p99 {cuts[98] * 1000:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        # A carrier nobody answers for: messages stay accepted, so the dispatcher does not
        # compete for the database and this measures the accept path alone.
        config = carrier_toml(free_port(), name="none")
        if args.database_url:
            config = f'[database]\nurl = "{args.database_url}"\n\n' + config
        (data / "chatti.toml").write_text(config)
        port = free_port()
        server = subprocess.Popen(serve_command(data, port), stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, 30)
            key = (data / "demo-api-key").read_text().strip()
            asyncio.run(measure(port, key, args))
        finally:
            server.terminate()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
