"""The SMSC side: accept connections, check binds, hand requests to the application.

Each connection is served by its own task; one connection's garbage, crash or drop
never touches another. The application supplies an `SmscHandler`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from chatti.smpp import pdu as p
from chatti.smpp import session as s
from chatti.smpp.connection import Connection, HandlerResult
from chatti.smpp.constants import CommandStatus

log = logging.getLogger(__name__)

BindRequest = p.BindTransmitter | p.BindReceiver | p.BindTransceiver


class SmscHandler(Protocol):
    def authenticate(self, bind: BindRequest) -> int | None:
        """The command_status to answer a bind with (0 accepts it); None leaves it
        unanswered, as a hung SMSC would."""

    def handle(self, connection: Connection, pdu: p.Pdu) -> HandlerResult:
        """Answer a bound peer's request (submit_sm, query_sm, ...)."""

    def connection_closed(self, connection: Connection) -> None: ...


class SmppServer:
    def __init__(
        self,
        handler: SmscHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "chatti",
        window: int = 100,
        response_timeout: float = 30.0,
        enquire_link_interval: float = 60.0,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.system_id = system_id
        self.window = window
        self.response_timeout = response_timeout
        self.enquire_link_interval = enquire_link_interval
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SMPP server listening on %s:%s", self.host, self.port)

    @property
    def is_serving(self) -> bool:
        return self._server is not None

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop_connections()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def drop_connections(self) -> None:
        for connection in list(self.connections):
            connection.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        loop = asyncio.get_running_loop()
        session = s.Session(
            s.Role.SMSC,
            clock=loop.time,
            window=self.window,
            response_timeout=self.response_timeout,
            enquire_link_interval=self.enquire_link_interval,
        )
        connection = Connection(reader, writer, session, self._handle, name=f"smsc<-{peer}")
        self.connections.add(connection)
        try:
            await connection.run()
        except Exception:
            log.exception("%s: connection failed", connection.name)
        finally:
            self.connections.discard(connection)
            self._tasks.discard(task)
            try:
                self.handler.connection_closed(connection)
            except Exception:
                log.exception("%s: connection_closed hook failed", connection.name)

    def _handle(self, connection: Connection, pdu: p.Pdu) -> HandlerResult:
        if isinstance(pdu, p.BindTransmitter | p.BindReceiver | p.BindTransceiver):
            status = self.handler.authenticate(pdu)
            if status is None:
                return None
            fields = {"system_id": self.system_id} if status == CommandStatus.ESME_ROK else {}
            return p.response_to(pdu, status, **fields)
        return self.handler.handle(connection, pdu)
