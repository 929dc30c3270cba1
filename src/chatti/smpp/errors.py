"""Errors of the SMPP layer.

    SmppError
    ├── RemoteProtocolError    the peer sent bytes or a PDU the protocol forbids;
    │                          carries the command_status to answer with
    ├── LocalProtocolError     our own code asked for something the protocol forbids
    │                          (a submit before binding, a field too long to encode)
    └── ConnectionLostError    the shells' word for a connection that went away

Decoding raises only RemoteProtocolError, whatever the bytes.
"""

from __future__ import annotations

from chatti.smpp.constants import CommandStatus


class SmppError(Exception):
    """Root of every error raised by chatti.smpp."""


class RemoteProtocolError(SmppError):
    """The peer broke the protocol.

    `command_status` is what to answer with. `sequence_number` and `command_id` name the
    offending PDU when its header could be read. `fatal` means the byte stream cannot be
    trusted any more (a bad command_length loses the frame boundaries): the connection
    must close once the generic_nack is written.
    """

    def __init__(
        self,
        message: str,
        command_status: int = CommandStatus.ESME_RSYSERR,
        *,
        sequence_number: int = 0,
        command_id: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.command_status = command_status
        self.sequence_number = sequence_number
        self.command_id = command_id
        self.fatal = fatal


class LocalProtocolError(SmppError):
    """Our own code asked for something the protocol or the session state forbids."""


class ConnectionLostError(SmppError):
    """The connection closed before the operation could finish."""
