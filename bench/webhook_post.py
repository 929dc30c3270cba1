"""The CPU one webhook POST costs the node: the httpx client, as the webhook sender uses it.

    python bench/webhook_post.py [--posts 800] [--events 250] [--concurrency 4]

Starts the bench's webhook receiver (`python -m chatti.bench.receiver`) in its own
process, then POSTs a JSON array of `--events` status events to it `--posts` times,
`--concurrency` at a time, through one httpx.AsyncClient. Prints this process's user
and system CPU per POST. A missing sniffio cost 40 % of it (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time

import httpx
import orjson
import uvloop

from chatti.bench.ports import free_port, wait_for_port

EVENT = {
    "event": "message.status",
    "message_id": "01KB9X7Q0000000000000000AB",
    "status": "delivered",
    "at": "2026-11-29T05:00:00.123456Z",
    "to": "+4915112345678",
    "from": "Chatti",
    "reference": None,
    "carrier": "sim",
    "segments": 1,
    "detail": None,
}
WARM_UP_POSTS = 50


async def run(url: str, posts: int, events: int, concurrency: int) -> None:
    body = orjson.dumps([EVENT] * events)
    async with httpx.AsyncClient() as client:
        for _ in range(WARM_UP_POSTS):
            await client.post(url, content=body)
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()

        async def post_some(count: int) -> None:
            for _ in range(count):
                (await client.post(url, content=body)).raise_for_status()

        share, rest = divmod(posts, concurrency)
        await asyncio.gather(*(post_some(share + (lane < rest)) for lane in range(concurrency)))
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    user = (after.ru_utime - before.ru_utime) / posts * 1e6
    system = (after.ru_stime - before.ru_stime) / posts * 1e6
    print(
        f"{posts:,} POSTs of {events} events ({len(body):,} bytes), {concurrency} at a time:"
        f" user {user:.0f} µs, system {system:.0f} µs of CPU per POST;"
        f" {posts / wall:,.0f} POSTs/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=800)
    parser.add_argument("--events", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "chatti.bench.receiver", "--port", str(port)]
    )
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        uvloop.run(run(url, args.posts, args.events, args.concurrency))
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
