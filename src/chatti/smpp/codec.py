"""Bytes to PDUs and back: framing, the mandatory fields of every PDU, TLVs.

The layout of each PDU's body is a table of (field, kind, size) rows copied from the
spec's tables in SMPP 3.4 chapter 4, so code and spec read side by side. Sizes of
C-octet strings include the terminating NUL, as the spec writes them.

Decoding is liberal where carriers are known to be sloppy (a response with an empty
body after an error, a last string without its NUL, integer TLVs of an odd width are
kept as octets) and strict where a mistake would corrupt the stream: any byte string
either yields PDUs or raises RemoteProtocolError with the status to answer.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Iterator
from typing import Any, Final, NamedTuple

from chatti.frozen import slot_setter
from chatti.smpp import pdu as p
from chatti.smpp.constants import RESPONSE_BIT, TLV_TYPES, CommandStatus, TlvType
from chatti.smpp.errors import LocalProtocolError, RemoteProtocolError

HEADER_SIZE: Final = 16
# The largest legitimate PDU carries a message_payload TLV of up to 64 KiB. A
# command_length beyond this is garbage or an attempt to make us buffer without bound.
MAX_COMMAND_LENGTH: Final = 70_000
MAX_SHORT_MESSAGE: Final = 254  # SMPP 3.4, 5.2.21: sm_length 0 to 254

_HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")
_U32 = struct.Struct(">I")

# Field kinds.
C = "c-octet"  # NUL-terminated string, size counts the NUL
U8 = "u8"
U32 = "u32"
SM = "sm_length+short_message"
DESTS = "number_of_dests+dest_address"
UNSUCCESS = "no_unsuccess+unsuccess_sme"

Row = tuple[str, str, int]

_BIND: tuple[Row, ...] = (
    ("system_id", C, 16),
    ("password", C, 9),
    ("system_type", C, 13),
    ("interface_version", U8, 1),
    ("addr_ton", U8, 1),
    ("addr_npi", U8, 1),
    ("address_range", C, 41),
)
_BIND_RESP: tuple[Row, ...] = (("system_id", C, 16),)
# SMPP 3.4, 4.4.1 (submit_sm) and 4.6.1 (deliver_sm) share one layout.
_SHORT_MESSAGE: tuple[Row, ...] = (
    ("service_type", C, 6),
    ("source_addr_ton", U8, 1),
    ("source_addr_npi", U8, 1),
    ("source_addr", C, 21),
    ("dest_addr_ton", U8, 1),
    ("dest_addr_npi", U8, 1),
    ("destination_addr", C, 21),
    ("esm_class", U8, 1),
    ("protocol_id", U8, 1),
    ("priority_flag", U8, 1),
    ("schedule_delivery_time", C, 17),
    ("validity_period", C, 17),
    ("registered_delivery", U8, 1),
    ("replace_if_present_flag", U8, 1),
    ("data_coding", U8, 1),
    ("sm_default_msg_id", U8, 1),
    ("short_message", SM, MAX_SHORT_MESSAGE),
)
_MESSAGE_ID: tuple[Row, ...] = (("message_id", C, 65),)

LAYOUTS: dict[type[p.Pdu], tuple[Row, ...]] = {
    p.GenericNack: (),
    p.BindTransmitter: _BIND,
    p.BindReceiver: _BIND,
    p.BindTransceiver: _BIND,
    p.BindTransmitterResp: _BIND_RESP,
    p.BindReceiverResp: _BIND_RESP,
    p.BindTransceiverResp: _BIND_RESP,
    p.Outbind: (("system_id", C, 16), ("password", C, 9)),
    p.Unbind: (),
    p.UnbindResp: (),
    p.EnquireLink: (),
    p.EnquireLinkResp: (),
    p.SubmitSm: _SHORT_MESSAGE,
    p.DeliverSm: _SHORT_MESSAGE,
    p.SubmitSmResp: _MESSAGE_ID,
    p.DeliverSmResp: _MESSAGE_ID,  # SMPP 3.4, 4.6.2: message_id unused, set to NULL
    p.SubmitMulti: (
        ("service_type", C, 6),
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 21),
        ("dest_addresses", DESTS, 254),
        *_SHORT_MESSAGE[7:],
    ),
    p.SubmitMultiResp: (("message_id", C, 65), ("unsuccess_smes", UNSUCCESS, 254)),
    p.DataSm: (
        ("service_type", C, 6),
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 65),
        ("dest_addr_ton", U8, 1),
        ("dest_addr_npi", U8, 1),
        ("destination_addr", C, 65),
        ("esm_class", U8, 1),
        ("registered_delivery", U8, 1),
        ("data_coding", U8, 1),
    ),
    p.DataSmResp: _MESSAGE_ID,
    p.QuerySm: (
        ("message_id", C, 65),
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 21),
    ),
    p.QuerySmResp: (
        ("message_id", C, 65),
        ("final_date", C, 17),
        ("message_state", U8, 1),
        ("error_code", U8, 1),
    ),
    p.CancelSm: (
        ("service_type", C, 6),
        ("message_id", C, 65),
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 21),
        ("dest_addr_ton", U8, 1),
        ("dest_addr_npi", U8, 1),
        ("destination_addr", C, 21),
    ),
    p.CancelSmResp: (),
    p.ReplaceSm: (
        ("message_id", C, 65),
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 21),
        ("schedule_delivery_time", C, 17),
        ("validity_period", C, 17),
        ("registered_delivery", U8, 1),
        ("sm_default_msg_id", U8, 1),
        ("short_message", SM, MAX_SHORT_MESSAGE),
    ),
    p.ReplaceSmResp: (),
    p.AlertNotification: (
        ("source_addr_ton", U8, 1),
        ("source_addr_npi", U8, 1),
        ("source_addr", C, 65),
        ("esme_addr_ton", U8, 1),
        ("esme_addr_npi", U8, 1),
        ("esme_addr", C, 65),
    ),
}

_INT_WIDTHS = {TlvType.INT1: 1, TlvType.INT2: 2, TlvType.INT4: 4}


class Frame(NamedTuple):
    """One whole PDU as it came off the wire, before its body is decoded."""

    command_id: int
    command_status: int
    sequence_number: int
    body: bytes


# Encoding ------------------------------------------------------------------------------


def encode(pdu: p.Pdu, sequence_number: int | None = None) -> bytes:
    """The wire form of pdu; `sequence_number` overrides the PDU's own."""
    seq = pdu.sequence_number if sequence_number is None else sequence_number
    fast = _FAST_ENCODERS.get(type(pdu))
    if fast is None:
        return encode_by_table(pdu, seq)
    body = fast(pdu)
    if pdu.tlvs:  # receipts carry two: receipted_message_id and message_state
        body += b"".join([encode_tlv(tlv) for tlv in pdu.tlvs])
    return _HEADER.pack(HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, seq) + body


def encode_by_table(pdu: p.Pdu, sequence_number: int) -> bytes:
    """The general encoder, driven by LAYOUTS (the fast ones are held to it by tests)."""
    layout = LAYOUTS[type(pdu)]
    out = bytearray(HEADER_SIZE)
    for name, kind, size in layout:
        value = getattr(pdu, name)
        if kind is C:
            out += _encode_cstring(name, value, size)
        elif kind is U8:
            out.append(value)
        elif kind is SM:
            if len(value) > MAX_SHORT_MESSAGE:
                raise LocalProtocolError(
                    f"short_message is {len(value)} octets, at most {MAX_SHORT_MESSAGE} fit;"
                    " use the message_payload TLV"
                )
            out.append(len(value))
            out += value
        elif kind is DESTS:
            _encode_dests(out, value)
        elif kind is UNSUCCESS:
            _encode_unsuccess(out, value)
        else:  # pragma: no cover - the layout table has no other kind
            raise AssertionError(kind)
    for tlv in pdu.tlvs:
        out += encode_tlv(tlv)
    _HEADER.pack_into(out, 0, len(out), pdu.command_id, pdu.command_status, sequence_number)
    return bytes(out)


def _encode_short_message(pdu: Any) -> bytes:
    """The mandatory fields of submit_sm and deliver_sm (every message and receipt), in
    straight-line code: the table's loop took twice as long. `encode` appends the TLVs."""
    short_message = pdu.short_message
    if len(short_message) > MAX_SHORT_MESSAGE:
        return _encode_body_by_table(pdu)  # for its error
    try:
        parts = (
            _encode_cstring("service_type", pdu.service_type, 6),
            _TWO_OCTETS.pack(pdu.source_addr_ton, pdu.source_addr_npi),
            _encode_cstring("source_addr", pdu.source_addr, 21),
            _TWO_OCTETS.pack(pdu.dest_addr_ton, pdu.dest_addr_npi),
            _encode_cstring("destination_addr", pdu.destination_addr, 21),
            _THREE_OCTETS.pack(pdu.esm_class, pdu.protocol_id, pdu.priority_flag),
            _encode_cstring("schedule_delivery_time", pdu.schedule_delivery_time, 17),
            _encode_cstring("validity_period", pdu.validity_period, 17),
            _FIVE_OCTETS.pack(
                pdu.registered_delivery,
                pdu.replace_if_present_flag,
                pdu.data_coding,
                pdu.sm_default_msg_id,
                len(short_message),
            ),
            short_message,
        )
    except struct.error:  # an octet out of range: the table's error, not struct's
        return _encode_body_by_table(pdu)
    return b"".join(parts)


def _encode_message_id(pdu: Any) -> bytes:
    """submit_sm_resp, deliver_sm_resp, data_sm_resp: one C-octet string."""
    return _encode_cstring("message_id", pdu.message_id, 65)


def _encode_body_by_table(pdu: p.Pdu) -> bytes:
    return encode_by_table(pdu, 0)[HEADER_SIZE:]


def _encode_cstring(name: str, value: str, size: int) -> bytes:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError as error:
        raise LocalProtocolError(f"{name} must be Latin-1 text, got {value!r}") from error
    if len(raw) >= size:
        raise LocalProtocolError(f"{name} takes at most {size - 1} characters, got {len(raw)}")
    return raw + b"\0"


def _encode_dests(out: bytearray, dests: tuple[p.SmeAddress | p.DistributionList, ...]) -> None:
    if len(dests) > 254:  # SMPP 3.4, 4.5.1: number_of_dests is at most 254
        raise LocalProtocolError(f"submit_multi takes at most 254 destinations, got {len(dests)}")
    out.append(len(dests))
    for dest in dests:
        if isinstance(dest, p.SmeAddress):
            out += bytes((1, dest.dest_addr_ton, dest.dest_addr_npi))
            out += _encode_cstring("destination_addr", dest.destination_addr, 21)
        else:
            out.append(2)
            out += _encode_cstring("dl_name", dest.dl_name, 21)


def _encode_unsuccess(out: bytearray, smes: tuple[p.UnsuccessSme, ...]) -> None:
    out.append(len(smes))
    for sme in smes:
        out += bytes((sme.dest_addr_ton, sme.dest_addr_npi))
        out += _encode_cstring("destination_addr", sme.destination_addr, 21)
        out += _U32.pack(sme.error_status_code)


def encode_tlv(tlv: p.Tlv) -> bytes:
    value = tlv.value
    kind = TLV_TYPES.get(tlv.tag)
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, int) and kind in _INT_WIDTHS:
        try:
            raw = value.to_bytes(_INT_WIDTHS[kind], "big")
        except OverflowError as error:
            raise LocalProtocolError(f"TLV 0x{tlv.tag:04X} value {value} does not fit") from error
    elif isinstance(value, str) and kind is TlvType.COCTET:
        raw = value.encode("latin-1") + b"\0"
    else:
        raise LocalProtocolError(f"TLV 0x{tlv.tag:04X} cannot hold {value!r}; give bytes")
    if len(raw) > 0xFFFF:
        raise LocalProtocolError(f"TLV 0x{tlv.tag:04X} value is {len(raw)} octets, at most 65535")
    return _TLV_HEADER.pack(tlv.tag, len(raw)) + raw


# Decoding ------------------------------------------------------------------------------


def decode(data: bytes) -> p.Pdu:
    """Decode exactly one whole PDU."""
    if len(data) < HEADER_SIZE:
        raise RemoteProtocolError(
            f"{len(data)} octets cannot hold a PDU header",
            CommandStatus.ESME_RINVCMDLEN,
            fatal=True,
        )
    length, command_id, status, seq = _HEADER.unpack_from(data)
    if length != len(data):
        raise RemoteProtocolError(
            f"command_length {length} but {len(data)} octets given",
            CommandStatus.ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=command_id,
            fatal=True,
        )
    return decode_frame(Frame(command_id, status, seq, bytes(data[HEADER_SIZE:])))


def decode_frame(frame: Frame) -> p.Pdu:
    """Decode the body of a framed PDU."""
    plan = _PLANS.get(frame.command_id)
    if plan is None:
        raise RemoteProtocolError(
            f"unknown command_id 0x{frame.command_id:08X}",
            CommandStatus.ESME_RINVCMDID,
            sequence_number=frame.sequence_number,
            command_id=frame.command_id,
        )
    try:
        return plan.decode(frame)
    except RemoteProtocolError as error:
        error.sequence_number = frame.sequence_number
        error.command_id = frame.command_id
        raise


def _truncated(name: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"body ends inside {name}", CommandStatus.ESME_RINVCMDLEN)


class _DecodePlan:
    """The layout of one PDU type turned into steps, run once per decoded PDU.

    Runs of one-octet integers are read in one struct call, and the PDU is built by
    setting its slots directly: a frozen dataclass's __init__ costs twice as much, and
    decoding sits on the path of every message.
    """

    def __init__(self, cls: type[p.Pdu]) -> None:
        self.cls = cls
        self.is_response = bool(cls.command_id & RESPONSE_BIT)
        self.steps: list[tuple[str, str, int, struct.Struct | None]] = []
        for name, kind, _size in LAYOUTS[cls]:
            if kind is U8 and self.steps and self.steps[-1][1] is U8:
                first, _, count, _ = self.steps[-1]
                self.steps[-1] = (first, U8, count + 1, struct.Struct(f">{count + 1}B"))
            else:
                self.steps.append((name, kind, 1, struct.Struct(">B") if kind is U8 else None))
        slots = {f.name: f for f in dataclasses.fields(cls)}
        names = [name for name, _, _ in LAYOUTS[cls]]
        self.setters = [slot_setter(cls, name) for name in names]
        self.defaults = [slots[name].default for name in names]
        self.set_sequence = slot_setter(cls, "sequence_number")
        self.set_status = slot_setter(cls, "command_status")
        self.set_tlvs = slot_setter(cls, "tlvs")

    def decode(self, frame: Frame) -> p.Pdu:
        body = frame.body
        values, pos = self.read_fields(body)
        pdu = _new(self.cls)
        for setter, value in zip(self.setters, values, strict=True):
            setter(pdu, value)
        self.set_sequence(pdu, frame.sequence_number)
        self.set_status(pdu, frame.command_status)
        self.set_tlvs(pdu, decode_tlvs(body, pos) if pos < len(body) else ())
        return pdu

    def read_fields(self, body: bytes) -> tuple[list[Any], int]:
        values: list[Any] = []
        pos = 0
        end = len(body)
        for name, kind, count, unpack in self.steps:
            if pos >= end:
                # SMPP 3.4, 4.4.2 and others: a response to a failed request may omit its body.
                if self.is_response:
                    values.extend(self.defaults[len(values) :])
                    break
                raise _truncated(name)
            if kind is C:
                nul = body.find(0, pos)
                if nul < 0:
                    if not self.is_response:
                        raise _truncated(name)
                    nul = end  # a response's last string without its NUL: seen in the field
                values.append(body[pos:nul].decode("latin-1"))
                pos = nul + 1
            elif kind is U8:
                assert unpack is not None
                if pos + count > end:
                    raise _truncated(name)
                values.extend(unpack.unpack_from(body, pos))
                pos += count
            elif kind is SM:
                sm_length = body[pos]
                pos += 1
                if pos + sm_length > end:
                    raise _sm_length_error(sm_length)
                values.append(body[pos : pos + sm_length])
                pos += sm_length
            elif kind is DESTS:
                dests, pos = _decode_dests(body, pos)
                values.append(dests)
            elif kind is UNSUCCESS:
                smes, pos = _decode_unsuccess(body, pos)
                values.append(smes)
            else:  # pragma: no cover
                raise AssertionError(kind)
        return values, min(pos, end)


_TWO_OCTETS = struct.Struct(">BB")
_THREE_OCTETS = struct.Struct(">BBB")
_FIVE_OCTETS = struct.Struct(">BBBBB")


class _ShortMessagePlan(_DecodePlan):
    """submit_sm and deliver_sm carry every message and receipt: their layout is
    read in straight-line code, several times faster than the generic steps. The
    round-trip and fuzz tests hold it to the same results as the table."""

    def read_fields(self, body: bytes) -> tuple[list[Any], int]:
        find = body.find
        try:
            nul = _find_nul(find, 0)
            service_type = body[:nul].decode("latin-1")
            source_addr_ton, source_addr_npi = _TWO_OCTETS.unpack_from(body, nul + 1)
            pos = nul + 3
            nul = _find_nul(find, pos)
            source_addr = body[pos:nul].decode("latin-1")
            dest_addr_ton, dest_addr_npi = _TWO_OCTETS.unpack_from(body, nul + 1)
            pos = nul + 3
            nul = _find_nul(find, pos)
            destination_addr = body[pos:nul].decode("latin-1")
            esm_class, protocol_id, priority_flag = _THREE_OCTETS.unpack_from(body, nul + 1)
            pos = nul + 4
            nul = _find_nul(find, pos)
            schedule_delivery_time = body[pos:nul].decode("latin-1")
            pos = nul + 1
            nul = _find_nul(find, pos)
            validity_period = body[pos:nul].decode("latin-1")
            (
                registered_delivery,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                sm_length,
            ) = _FIVE_OCTETS.unpack_from(body, nul + 1)
        except struct.error:
            raise _truncated("the mandatory fields") from None
        pos = nul + 6
        if pos + sm_length > len(body):
            raise _sm_length_error(sm_length)
        values = [
            service_type,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            dest_addr_ton,
            dest_addr_npi,
            destination_addr,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            body[pos : pos + sm_length],
        ]
        return values, pos + sm_length


def _find_nul(find: Any, start: int) -> int:
    nul: int = find(0, start)
    if nul < 0:
        raise _truncated("a C-octet string")
    return nul


def _sm_length_error(sm_length: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"sm_length {sm_length} runs past the end of the PDU", CommandStatus.ESME_RINVMSGLEN
    )


_new = object.__new__


_FAST_ENCODERS: dict[type[p.Pdu], Callable[[Any], bytes]] = {
    p.SubmitSm: _encode_short_message,
    p.DeliverSm: _encode_short_message,
    p.SubmitSmResp: _encode_message_id,
    p.DeliverSmResp: _encode_message_id,
    p.DataSmResp: _encode_message_id,
}

_PLANS: dict[int, _DecodePlan] = {
    cls.command_id: (_ShortMessagePlan if LAYOUTS[cls] is _SHORT_MESSAGE else _DecodePlan)(cls)
    for cls in p.ALL_PDU_TYPES
}


def _decode_cstring(body: bytes, pos: int, name: str) -> tuple[str, int]:
    nul = body.find(0, pos)
    if nul < 0:
        raise _truncated(name)
    return body[pos:nul].decode("latin-1"), nul + 1


def _decode_dests(
    body: bytes, pos: int
) -> tuple[tuple[p.SmeAddress | p.DistributionList, ...], int]:
    count = body[pos]
    pos += 1
    dests: list[p.SmeAddress | p.DistributionList] = []
    for _ in range(count):
        if pos >= len(body):
            raise _truncated("dest_address")
        flag = body[pos]
        if flag == 1:
            if pos + 3 > len(body):
                raise _truncated("dest_address")
            ton, npi = body[pos + 1], body[pos + 2]
            addr, pos = _decode_cstring(body, pos + 3, "destination_addr")
            dests.append(p.SmeAddress(ton, npi, addr))
        elif flag == 2:
            name, pos = _decode_cstring(body, pos + 1, "dl_name")
            dests.append(p.DistributionList(name))
        else:
            raise RemoteProtocolError(
                f"dest_flag {flag} is neither 1 nor 2", CommandStatus.ESME_RINVDESTFLAG
            )
    return tuple(dests), pos


def _decode_unsuccess(body: bytes, pos: int) -> tuple[tuple[p.UnsuccessSme, ...], int]:
    count = body[pos]
    pos += 1
    smes: list[p.UnsuccessSme] = []
    for _ in range(count):
        if pos + 2 > len(body):
            raise _truncated("unsuccess_sme")
        ton, npi = body[pos], body[pos + 1]
        addr, pos = _decode_cstring(body, pos + 2, "destination_addr")
        if pos + 4 > len(body):
            raise _truncated("error_status_code")
        (code,) = _U32.unpack_from(body, pos)
        pos += 4
        smes.append(p.UnsuccessSme(ton, npi, addr, code))
    return tuple(smes), pos


def decode_tlvs(body: bytes, pos: int) -> tuple[p.Tlv, ...]:
    tlvs: list[p.Tlv] = []
    end = len(body)
    while pos < end:
        if pos + 4 > end:
            raise RemoteProtocolError(
                "optional parameter header cut short", CommandStatus.ESME_RINVOPTPARSTREAM
            )
        tag, length = _TLV_HEADER.unpack_from(body, pos)
        pos += 4
        if pos + length > end:
            raise RemoteProtocolError(
                f"optional parameter 0x{tag:04X} claims {length} octets, {end - pos} remain",
                CommandStatus.ESME_RINVOPTPARSTREAM,
            )
        tlvs.append(p.Tlv(tag, _tlv_value(tag, body[pos : pos + length])))
        pos += length
    return tuple(tlvs)


def _tlv_value(tag: int, raw: bytes) -> p.TlvValue:
    kind = TLV_TYPES.get(tag)
    width = _INT_WIDTHS.get(kind) if kind is not None else None
    if width is not None and len(raw) == width:
        return int.from_bytes(raw, "big")
    if kind is TlvType.COCTET and raw.endswith(b"\0") and raw.find(0) == len(raw) - 1:
        return raw[:-1].decode("latin-1")
    return raw  # unknown tags and odd widths keep their octets, so they re-encode unchanged


# Framing -------------------------------------------------------------------------------


class FrameBuffer:
    """Cuts a byte stream into frames.

    A command_length under 16 or over the maximum is refused as soon as the header is
    in, before any body is buffered; after that the stream has no trustworthy frame
    boundary, so the error is fatal.
    """

    def __init__(self, max_command_length: int = MAX_COMMAND_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_command_length

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def __len__(self) -> int:
        return len(self._buffer)

    def frames(self) -> Iterator[Frame]:
        buffer = self._buffer
        pos = 0
        try:
            while len(buffer) - pos >= HEADER_SIZE:
                length, command_id, status, seq = _HEADER.unpack_from(buffer, pos)
                if length < HEADER_SIZE or length > self._max:
                    raise RemoteProtocolError(
                        f"command_length {length} outside {HEADER_SIZE}..{self._max}",
                        CommandStatus.ESME_RINVCMDLEN,
                        sequence_number=seq,
                        command_id=command_id,
                        fatal=True,
                    )
                if len(buffer) - pos < length:
                    break
                body = bytes(buffer[pos + HEADER_SIZE : pos + length])
                pos += length
                yield Frame(command_id, status, seq, body)
        finally:
            del buffer[:pos]
