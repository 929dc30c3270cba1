"""A webhook receiver for benchmarks: `python -m chatti.bench.receiver --port P`.

Answers every POST 200, counts the events (a JSON array each), in all and by status,
and serves the counts at GET /count, so `chatti bench` can follow a run without asking
the node under test.
Small on purpose: asyncio streams, keep-alive, Content-Length bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections import Counter as Tally

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Counter:
    def __init__(self) -> None:
        self.events = 0
        self.posts = 0
        self.statuses: Tally[str] = Tally()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if request_line.startswith(b"GET /count"):
                    answer = json.dumps(
                        {"events": self.events, "posts": self.posts, "statuses": self.statuses}
                    ).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                        + answer
                    )
                else:
                    self.posts += 1
                    events = json.loads(body) if body else []
                    self.events += len(events)
                    self.statuses.update(event.get("status") for event in events)
                    writer.write(_OK)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def run(port: int) -> None:
    counter = Counter()
    server = await asyncio.start_server(counter.serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.port))


if __name__ == "__main__":
    main()
