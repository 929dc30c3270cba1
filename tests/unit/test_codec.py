import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp.constants import CommandId, CommandStatus, TlvTag, status_name
from chatti.smpp.errors import LocalProtocolError, RemoteProtocolError
from tests.strategies import any_pdu, pdus_of

# Golden vectors, written out by hand from the field tables of SMPP 3.4 chapter 4.
GOLDEN = [
    (
        p.EnquireLink(sequence_number=1),
        "00000010000000150000000000000001",
    ),
    (
        p.BindTransmitter(sequence_number=2, system_id="smppclient1", password="password"),
        "0000002a"
        "00000002"
        "00000000"
        "00000002"
        + b"smppclient1\0".hex()
        + b"password\0".hex()
        + "00"  # system_type ""
        + "34"
        "00"
        "00"  # interface_version, addr_ton, addr_npi
         + "00",  # address_range ""
    ),
    (
        p.SubmitSm(
            sequence_number=3,
            source_addr_ton=5,
            source_addr="Chatti",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="4912345",
            registered_delivery=1,
            short_message=b"hi",
        ),
        "00000030"
        "00000004"
        "00000000"
        "00000003"
        + "00"  # service_type
        + "05"
        "00" + b"Chatti\0".hex() + "01"
        "01" + b"4912345\0".hex() + "00"
        "00"
        "00"  # esm_class, protocol_id, priority_flag
         + "00"
        "00"  # schedule_delivery_time, validity_period
         + "01"
        "00"
        "00"
        "00"  # registered_delivery, replace_if_present, data_coding, default id
         + "02" + b"hi".hex(),
    ),
    (
        p.SubmitSmResp(sequence_number=3, message_id="abc"),
        "00000014800000040000000000000003" + b"abc\0".hex(),
    ),
    (
        p.GenericNack(sequence_number=9, command_status=CommandStatus.ESME_RINVCMDID),
        "00000010800000000000000300000009",
    ),
    (
        p.DeliverSmResp(sequence_number=4, tlvs=(p.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "7f"),)),
        "0000001880000005000000000000000400001e0003" + b"7f\0".hex(),
    ),
]


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN, ids=lambda v: type(v).__name__)
def test_golden_vectors(pdu: p.Pdu, wire: str) -> None:
    assert codec.encode(pdu).hex() == wire
    assert codec.decode(bytes.fromhex(wire)) == pdu


@pytest.mark.parametrize("cls", p.ALL_PDU_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=60)
@given(data=st.data())
def test_round_trip_of_every_pdu_type(cls: type[p.Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdus_of(cls))
    wire = codec.encode(pdu)
    assert int.from_bytes(wire[:4], "big") == len(wire)
    assert codec.decode(wire) == pdu


def test_every_command_id_has_a_pdu_type() -> None:
    assert {cls.command_id for cls in p.ALL_PDU_TYPES} == set(CommandId)


@given(st.lists(any_pdu, min_size=1, max_size=5), st.integers(1, 40))
def test_framing_in_chunks_of_any_size(pdus: list[p.Pdu], chunk: int) -> None:
    stream = b"".join(codec.encode(pdu) for pdu in pdus)
    frames = codec.FrameBuffer()
    decoded: list[p.Pdu] = []
    for start in range(0, len(stream), chunk):
        frames.feed(stream[start : start + chunk])
        decoded.extend(codec.decode_frame(frame) for frame in frames.frames())
    assert decoded == pdus
    assert len(frames) == 0


def test_byte_at_a_time() -> None:
    pdus = [pdu for pdu, _ in GOLDEN]
    stream = b"".join(codec.encode(pdu) for pdu in pdus)
    frames = codec.FrameBuffer()
    decoded: list[p.Pdu] = []
    for octet in stream:
        frames.feed(bytes([octet]))
        decoded.extend(codec.decode_frame(frame) for frame in frames.frames())
    assert decoded == pdus


@pytest.mark.parametrize("length", [0, 15, codec.MAX_COMMAND_LENGTH + 1, 0xFFFFFFFF])
def test_bad_command_length_refused_from_the_header_alone(length: int) -> None:
    frames = codec.FrameBuffer()
    frames.feed(length.to_bytes(4, "big") + bytes.fromhex("000000040000000000000007"))
    with pytest.raises(RemoteProtocolError) as caught:
        list(frames.frames())
    assert caught.value.command_status == CommandStatus.ESME_RINVCMDLEN
    assert caught.value.sequence_number == 7
    assert caught.value.fatal


@settings(max_examples=500)
@given(st.binary(max_size=400))
def test_garbage_yields_pdus_or_remote_protocol_error_only(data: bytes) -> None:
    frames = codec.FrameBuffer()
    frames.feed(data)
    errors: list[RemoteProtocolError] = []
    framing_error: RemoteProtocolError | None = None
    try:
        for frame in frames.frames():
            try:
                codec.decode_frame(frame)
            except RemoteProtocolError as error:
                errors.append(error)
    except RemoteProtocolError as error:
        framing_error = error
    assert all(error.command_status != CommandStatus.ESME_ROK for error in errors)
    assert framing_error is None or framing_error.fatal


@settings(max_examples=500)
@given(st.sampled_from(sorted(p.PDU_TYPES)), st.binary(max_size=300))
def test_garbage_bodies_of_known_commands(command_id: int, body: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode_frame(codec.Frame(command_id, 0, 1, body))


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_fast_short_message_decoder_agrees_with_the_table(body: bytes) -> None:
    fast = codec._PLANS[CommandId.SUBMIT_SM]
    generic = codec._DecodePlan(p.SubmitSm)
    assert type(fast) is not type(generic)
    results: list[object] = []
    for plan in (fast, generic):
        try:
            results.append(plan.read_fields(body))
        except RemoteProtocolError as error:
            results.append(("error", error.command_status))
    assert results[0] == results[1]


@pytest.mark.parametrize("cls", list(codec._FAST_ENCODERS), ids=lambda cls: cls.__name__)
@settings(max_examples=200)
@given(data=st.data())
def test_fast_encoders_agree_with_the_table(cls: type[p.Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdus_of(cls))
    sequence = data.draw(st.integers(1, 0x7FFFFFFF))
    assert codec.encode(pdu, sequence) == codec.encode_by_table(pdu, sequence)


@pytest.mark.parametrize(
    "pdu",
    [
        p.SubmitSm(source_addr="x" * 21),
        p.DeliverSm(short_message=b"x" * 255),
        p.SubmitSm(esm_class=256),
        p.SubmitSmResp(message_id="x" * 65),
        p.DeliverSm(tlvs=(p.Tlv(TlvTag.MESSAGE_STATE, 300),)),
        p.DeliverSm(short_message=b"x" * 255, tlvs=(p.Tlv(TlvTag.MESSAGE_STATE, 300),)),
    ],
    ids=[
        "long address",
        "long short_message",
        "octet out of range",
        "long message_id",
        "TLV value too large",
        "a field and a TLV both wrong",
    ],
)
def test_fast_encoders_fail_as_the_table_does(pdu: p.Pdu) -> None:
    errors = []
    for encode in (codec.encode, lambda pdu: codec.encode_by_table(pdu, 0)):
        with pytest.raises((LocalProtocolError, ValueError)) as raised:
            encode(pdu)
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1]


def test_unknown_command_id_asks_for_generic_nack() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(bytes.fromhex("00000010000000990000000000000005"))
    assert caught.value.command_status == CommandStatus.ESME_RINVCMDID
    assert caught.value.sequence_number == 5


def test_sm_length_past_the_end_is_invalid_message_length() -> None:
    wire = bytearray(codec.encode(p.SubmitSm(short_message=b"hello")))
    wire[-6] = 200  # sm_length
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(bytes(wire))
    assert caught.value.command_status == CommandStatus.ESME_RINVMSGLEN


def test_truncated_tlv_is_an_invalid_parameter_stream() -> None:
    wire = codec.encode(p.SubmitSm(tlvs=(p.Tlv(0x1400, b"abcdef"),)))
    cut = wire[:-2]
    cut = len(cut).to_bytes(4, "big") + cut[4:]
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(cut)
    assert caught.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM


def test_error_response_without_body_is_accepted() -> None:
    pdu = codec.decode(bytes.fromhex("00000010800000040000005800000003"))
    assert pdu == p.SubmitSmResp(sequence_number=3, command_status=CommandStatus.ESME_RTHROTTLED)


def test_response_string_without_nul_is_tolerated() -> None:
    wire = bytes.fromhex("00000013800000040000000000000003") + b"abc"
    assert codec.decode(wire) == p.SubmitSmResp(sequence_number=3, message_id="abc")


def test_vendor_status_and_unknown_values_are_carried_as_numbers() -> None:
    pdu = p.SubmitSmResp(sequence_number=1, command_status=0x401)
    assert codec.decode(codec.encode(pdu)).command_status == 0x401
    assert status_name(0x401) == "vendor(0x00000401)"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    odd = p.SubmitSm(dest_addr_ton=77, data_coding=0xF5, esm_class=0xFF)
    assert codec.decode(codec.encode(odd)) == odd


def test_known_integer_tlv_of_odd_width_is_kept_as_octets() -> None:
    body_tlv = bytes.fromhex("042700020002")  # message_state is one octet
    wire = codec.encode(p.DeliverSmResp()) + body_tlv
    wire = len(wire).to_bytes(4, "big") + wire[4:]
    pdu = codec.decode(wire)
    assert pdu.tlv(TlvTag.MESSAGE_STATE) == b"\x00\x02"
    assert codec.encode(pdu) == wire


def test_typed_tlvs() -> None:
    pdu = p.SubmitSm(
        tlvs=(
            p.Tlv(TlvTag.SAR_MSG_REF_NUM, 513),
            p.Tlv(TlvTag.QOS_TIME_TO_LIVE, 70000),
            p.Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 1000),
            p.Tlv(TlvTag.ALERT_ON_MESSAGE_DELIVERY),
        )
    )
    wire = codec.encode(pdu)
    assert bytes.fromhex("020c00020201") in wire
    assert bytes.fromhex("0017000400011170") in wire
    assert bytes.fromhex("130c0000") in wire
    assert codec.decode(wire) == pdu


@pytest.mark.parametrize(
    "pdu",
    [
        p.SubmitSm(source_addr="x" * 21),
        p.SubmitSm(short_message=b"x" * 255),
        p.BindTransmitter(system_id="x" * 16),
        p.SubmitSm(tlvs=(p.Tlv(TlvTag.SAR_MSG_REF_NUM, 70000),)),
        p.SubmitSm(tlvs=(p.Tlv(TlvTag.SAR_MSG_REF_NUM, "text"),)),
        p.SubmitSm(destination_addr="Ω"),
    ],
)
def test_what_cannot_be_encoded_is_a_local_error(pdu: p.Pdu) -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode(pdu)


def test_response_to_builds_the_matching_response() -> None:
    request = p.SubmitSm(sequence_number=77)
    response = p.response_to(request, message_id="x")
    assert response == p.SubmitSmResp(sequence_number=77, message_id="x")
    assert p.response_type(CommandId.OUTBIND) is None
    with pytest.raises(ValueError, match="has no response"):
        p.response_to(p.AlertNotification())
