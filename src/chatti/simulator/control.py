"""The simulator's HTTP control port: counts as JSON, and switches for tests.

    GET  /stats   the counts (binds, submits, duplicates, receipts_sent, receipts_acked, ...)
                  and bound_now, the connections bound at this moment
    GET  /seen    the submit keys received (simulator.smsc.submit_key), to check each message
    POST /drop    close every SMPP connection
    POST /down    stop listening and close every connection
    POST /up      listen again
    POST /reset   zero the counts

A deliberately small HTTP/1.1 server on asyncio streams: one request per connection,
bodies ignored, so the simulator needs no web framework.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from chatti.simulator.smsc import Simulator

log = logging.getLogger(__name__)

MAX_HEADER_LINES = 100  # bounds what a garbage client can make us read


class ControlServer:
    def __init__(self, simulator: Simulator, host: str, port: int) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._routes: dict[tuple[str, str], Callable[[], Awaitable[object]]] = {
            ("GET", "/stats"): self._stats,
            ("GET", "/seen"): self._seen,
            ("POST", "/drop"): self._drop,
            ("POST", "/down"): self._down,
            ("POST", "/up"): self._up,
            ("POST", "/reset"): self._reset,
        }

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _stats(self) -> object:
        return {
            **self.simulator.stats.as_dict(),
            "up": self.simulator.is_up,
            "bound_now": self.simulator.bound_now,
        }

    async def _seen(self) -> object:
        return {"keys": self.simulator.seen()}

    async def _drop(self) -> object:
        self.simulator.drop_connections()
        return {"dropped": True}

    async def _down(self) -> object:
        await self.simulator.go_down()
        return {"up": False}

    async def _up(self) -> object:
        await self.simulator.come_up()
        return {"up": True}

    async def _reset(self) -> object:
        self.simulator.reset_stats()
        return {"reset": True}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, payload = await asyncio.wait_for(self._respond(reader), 10)
        except (TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, payload = 400, {"error": "bad request"}
        except ConnectionError:
            writer.close()
            return
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, object]:
        request_line = (await reader.readline()).decode("latin-1").split()
        if len(request_line) != 3:
            raise ValueError("malformed request line")
        method, target, _version = request_line
        for _ in range(MAX_HEADER_LINES):
            if (await reader.readline()) in (b"\r\n", b"\n", b""):
                break
        else:
            raise ValueError("too many header lines")
        route = self._routes.get((method.upper(), target.split("?", 1)[0]))
        if route is None:
            return 404, {"error": f"no route {method} {target}"}
        return 200, await route()
