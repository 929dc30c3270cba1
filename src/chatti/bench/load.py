"""The load client of `chatti bench`, run as its own process:

    python -m chatti.bench.load --port P --key K --messages N --api batch|single --concurrency C

Sends N messages and prints one JSON object: the accept rate, every request's latency,
the process's CPU seconds and peak memory. Numbers are distinct (+491511 and seven
digits) and each text carries its number, so the simulator can tell messages apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

from chatti.bench.http_load import run_load

BATCH_SIZE = 1000


def message(number: int) -> dict[str, str]:
    return {"to": f"+491511{number:07d}", "from": "Chatti", "text": f"Your code is {number:07d}"}


def requests(api: str, total: int) -> Iterator[tuple[str, str, Any]]:
    if api == "single":
        for number in range(total):
            yield "POST", "/v1/messages", message(number)
        return
    for start in range(0, total, BATCH_SIZE):
        batch = [message(n) for n in range(start, min(total, start + BATCH_SIZE))]
        yield "POST", "/v1/messages/batch", {"messages": batch}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--api", choices=["batch", "single"], required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args()
    result = asyncio.run(
        run_load(
            "127.0.0.1",
            args.port,
            requests(args.api, args.messages),
            {"Authorization": f"Bearer {args.key}"},
            args.concurrency,
        )
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "statuses": result.statuses,
            "seconds": result.seconds,
            "latencies": result.latencies,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "finished_at": time.time(),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
