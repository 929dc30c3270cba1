"""A small HTTP/1.1 load client for benchmarks: keep-alive connections, each sending
one request at a time, timing every answer.

Benchmarks need a client that is not the bottleneck; httpx's async pool tops out at a
few hundred requests per second with fifty connections on this machine, far below
what the server answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class HttpConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 24)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def run_load(
    host: str,
    port: int,
    requests: Iterator[tuple[str, str, Any]],
    headers: dict[str, str],
    concurrency: int,
    keep: Callable[[int], bool] = lambda status: False,
) -> LoadResult:
    """Send every (method, path, json body) over `concurrency` connections."""
    result = LoadResult()
    all_headers = {"Content-Type": "application/json", **headers}

    async def worker() -> None:
        connection = await HttpConnection.open(host, port)
        try:
            for method, path, payload in requests:
                body = json.dumps(payload).encode() if payload is not None else b""
                sent = time.perf_counter()
                status, answer = await connection.request(method, path, body, all_headers)
                result.latencies.append(time.perf_counter() - sent)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if keep(status):
                    result.bodies.append(answer)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
