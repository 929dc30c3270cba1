import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp import session as s
from chatti.smpp.constants import CommandId, CommandStatus
from chatti.smpp.errors import LocalProtocolError
from tests.strategies import any_pdu


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pair(window: int = 10) -> tuple[s.Session, s.Session, FakeClock]:
    clock = FakeClock()
    esme = s.Session(
        s.Role.ESME, clock=clock, window=window, response_timeout=5, enquire_link_interval=30
    )
    smsc = s.Session(
        s.Role.SMSC, clock=clock, window=window, response_timeout=5, enquire_link_interval=30
    )
    return esme, smsc, clock


def pump(a: s.Session, b: s.Session, byte_at_a_time: bool = False) -> None:
    """Carry bytes both ways until neither side has anything to say."""
    while True:
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.data_to_send()
            if data:
                moved = True
                if byte_at_a_time:
                    for octet in data:
                        dst.receive_data(bytes([octet]))
                else:
                    dst.receive_data(data)
        if not moved:
            return


def bind(esme: s.Session, smsc: s.Session, request: p.Pdu | None = None) -> None:
    esme.send(request or p.BindTransceiver(system_id="acme", password="pw"))
    pump(esme, smsc)
    (received,) = smsc.events()
    assert isinstance(received, s.PduReceived)
    smsc.send(p.response_to(received.pdu, system_id="smsc"))
    pump(esme, smsc)


def test_bind_moves_both_sides_to_bound() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    assert esme.state is smsc.state is s.State.BOUND_TRX
    events = esme.events()
    assert isinstance(events[0], s.ResponseReceived)
    assert events[1] == s.Bound(s.State.BOUND_TRX, "acme")
    assert smsc.events() == [s.Bound(s.State.BOUND_TRX, "acme")]


@pytest.mark.parametrize(
    ("request_type", "state"),
    [
        (p.BindTransmitter, s.State.BOUND_TX),
        (p.BindReceiver, s.State.BOUND_RX),
        (p.BindTransceiver, s.State.BOUND_TRX),
    ],
)
def test_each_bind_type(
    request_type: type[p.BindTransmitter | p.BindReceiver | p.BindTransceiver], state: s.State
) -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc, request_type(system_id="x"))
    assert esme.state is smsc.state is state


def test_refused_bind_stays_open() -> None:
    esme, smsc, _ = pair()
    esme.send(p.BindTransmitter(system_id="acme", password="bad"))
    pump(esme, smsc)
    (received,) = smsc.events()
    smsc.send(p.response_to(received.pdu, CommandStatus.ESME_RINVPASWD))  # type: ignore[union-attr]
    pump(esme, smsc)
    assert esme.state is smsc.state is s.State.OPEN
    (answer,) = esme.events()
    assert isinstance(answer, s.ResponseReceived)
    assert answer.pdu.command_status == CommandStatus.ESME_RINVPASWD


def test_submit_before_bind_is_a_local_error_and_smsc_answers_invalid_bind_status() -> None:
    esme, smsc, _ = pair()
    with pytest.raises(LocalProtocolError):
        esme.send(p.SubmitSm())
    smsc.receive_data(codec.encode(p.SubmitSm(sequence_number=8)))
    reply = codec.decode(smsc.data_to_send())
    assert reply == p.SubmitSmResp(sequence_number=8, command_status=CommandStatus.ESME_RINVBNDSTS)


def test_second_bind_is_answered_already_bound() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    smsc.events()
    smsc.receive_data(codec.encode(p.BindTransmitter(sequence_number=50)))
    reply = codec.decode(smsc.data_to_send())
    assert reply.command_status == CommandStatus.ESME_RALYBND
    assert isinstance(reply, p.BindTransmitterResp)


def test_receiver_may_not_submit_and_transmitter_gets_no_deliver() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc, p.BindReceiver(system_id="r"))
    with pytest.raises(LocalProtocolError):
        esme.send(p.SubmitSm())
    smsc.receive_data(codec.encode(p.SubmitSm(sequence_number=3)))
    assert codec.decode(smsc.data_to_send()).command_status == CommandStatus.ESME_RINVBNDSTS

    esme2, smsc2, _ = pair()
    bind(esme2, smsc2, p.BindTransmitter(system_id="t"))
    with pytest.raises(LocalProtocolError):
        smsc2.send(p.DeliverSm())


def test_submit_and_deliver_exchange_byte_at_a_time() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    esme.events()
    smsc.events()
    sequence = esme.send(p.SubmitSm(destination_addr="491234", short_message=b"hi"))
    pump(esme, smsc, byte_at_a_time=True)
    (submitted,) = smsc.events()
    assert isinstance(submitted, s.PduReceived)
    assert submitted.pdu.sequence_number == sequence
    smsc.send(p.response_to(submitted.pdu, message_id="m1"))
    smsc.send(p.DeliverSm(short_message=b"id:m1 stat:DELIVRD"))
    pump(esme, smsc, byte_at_a_time=True)
    answer, delivered = esme.events()
    assert isinstance(answer, s.ResponseReceived)
    assert answer.pdu == p.SubmitSmResp(sequence_number=sequence, message_id="m1")
    assert isinstance(delivered, s.PduReceived)
    esme.send(p.response_to(delivered.pdu))
    pump(esme, smsc)
    (ack,) = smsc.events()
    assert isinstance(ack, s.ResponseReceived)
    assert isinstance(ack.pdu, p.DeliverSmResp)


def test_window_bounds_requests_in_flight() -> None:
    esme, smsc, _ = pair(window=3)
    bind(esme, smsc)
    for _ in range(3):
        esme.send(p.SubmitSm())
    assert esme.window_free == 0
    with pytest.raises(LocalProtocolError, match="window"):
        esme.send(p.SubmitSm())
    pump(esme, smsc)
    for event in smsc.events():
        if isinstance(event, s.PduReceived):
            smsc.send(p.response_to(event.pdu, message_id="x"))
    pump(esme, smsc)
    assert esme.window_free == 3


def test_sequence_numbers_are_unique_and_wrap() -> None:
    esme, smsc, _ = pair(window=5)
    bind(esme, smsc)
    esme._last_sequence = s.MAX_SEQUENCE_NUMBER - 1
    numbers = [esme.send(p.SubmitSm()) for _ in range(3)]
    assert numbers == [s.MAX_SEQUENCE_NUMBER, 1, 2]


def test_unanswered_request_times_out_without_sleeping() -> None:
    esme, smsc, clock = pair()
    bind(esme, smsc)
    esme.events()
    sequence = esme.send(p.SubmitSm())
    clock.now += 4.9
    esme.check_timers()
    assert esme.events() == []
    clock.now += 0.2
    esme.check_timers()
    (timed_out,) = esme.events()
    assert timed_out == s.ResponseTimedOut(p.SubmitSm(), sequence)
    assert esme.window_free == esme.window


def test_idle_link_sends_enquire_link_which_the_peer_answers() -> None:
    esme, smsc, clock = pair()
    bind(esme, smsc)
    esme.events()
    smsc.events()
    clock.now += 31
    esme.check_timers()
    data = esme.data_to_send()
    assert codec.decode(data).command_id == CommandId.ENQUIRE_LINK
    smsc.receive_data(data)
    assert smsc.events() == []  # answered by the session itself
    esme.receive_data(smsc.data_to_send())
    assert esme.events() == []
    assert esme.in_flight == 0


def test_enquire_link_unanswered_times_out() -> None:
    esme, smsc, clock = pair()
    bind(esme, smsc)
    esme.events()
    clock.now += 31
    esme.check_timers()
    clock.now += 6
    esme.check_timers()
    (event,) = esme.events()
    assert isinstance(event, s.ResponseTimedOut)
    assert isinstance(event.request, p.EnquireLink)


def test_unbind_from_the_peer_is_answered_and_unbinds() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    esme.events()
    smsc.events()
    smsc.send(p.Unbind())
    pump(esme, smsc)
    assert esme.state is smsc.state is s.State.UNBOUND
    assert esme.events() == [s.Unbound()]
    assert isinstance(smsc.events()[0], s.ResponseReceived)


def test_no_new_submit_while_unbinding() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    esme.send(p.Unbind())
    with pytest.raises(LocalProtocolError, match="unbinding"):
        esme.send(p.SubmitSm())


def test_connection_closed_reports_requests_in_flight() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    esme.events()
    esme.send(p.SubmitSm(destination_addr="1"))
    esme.send(p.SubmitSm(destination_addr="2"))
    esme.receive_data(b"")
    (closed,) = esme.events()
    assert isinstance(closed, s.ConnectionClosed)
    assert [pdu.destination_addr for pdu in closed.unanswered] == ["1", "2"]  # type: ignore[attr-defined]
    assert esme.state is s.State.CLOSED


def test_unknown_command_gets_generic_nack_and_session_goes_on() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    smsc.events()
    smsc.receive_data(bytes.fromhex("000000100000abcd0000000000000021"))
    nack = codec.decode(smsc.data_to_send())
    assert nack == p.GenericNack(sequence_number=0x21, command_status=CommandStatus.ESME_RINVCMDID)
    assert isinstance(smsc.events()[0], s.ProtocolErrorOccurred)
    assert not smsc.must_close
    smsc.receive_data(codec.encode(p.SubmitSm(sequence_number=2)))
    assert isinstance(smsc.events()[0], s.PduReceived)


def test_malformed_submit_answered_with_its_own_response() -> None:
    esme, smsc, _ = pair()
    bind(esme, smsc)
    smsc.events()
    wire = bytearray(codec.encode(p.SubmitSm(sequence_number=6, short_message=b"abc")))
    wire[-4] = 250
    smsc.receive_data(bytes(wire))
    assert codec.decode(smsc.data_to_send()) == p.SubmitSmResp(
        sequence_number=6, command_status=CommandStatus.ESME_RINVMSGLEN
    )


def test_bad_command_length_is_fatal() -> None:
    _, smsc, _ = pair()
    smsc.receive_data(bytes.fromhex("00000005000000040000000000000001"))
    assert codec.decode(smsc.data_to_send()).command_status == CommandStatus.ESME_RINVCMDLEN
    assert smsc.must_close


def test_state_diagram_is_drawn_from_the_table() -> None:
    diagram = s.state_diagram()
    for (state, exchange), target in s.TRANSITIONS.items():
        assert f"{state.value} --> {target.value}: {exchange.name.lower()}" in diagram


# Every (state, PDU) pair, both roles: only events come out, never an exception.

STATES_REACHED: dict[
    s.State, type[p.BindTransmitter | p.BindReceiver | p.BindTransceiver] | None
] = {
    s.State.OPEN: None,
    s.State.BOUND_TX: p.BindTransmitter,
    s.State.BOUND_RX: p.BindReceiver,
    s.State.BOUND_TRX: p.BindTransceiver,
}


@settings(max_examples=400)
@given(
    st.sampled_from(sorted(STATES_REACHED, key=lambda state: state.value)),
    st.sampled_from(s.Role),
    any_pdu,
)
def test_any_pdu_in_any_state_never_raises(state: s.State, role: s.Role, pdu: p.Pdu) -> None:
    esme, smsc, _ = pair()
    bind_type = STATES_REACHED[state]
    if bind_type is not None:
        bind(esme, smsc, bind_type(system_id="x"))
    target = esme if role is s.Role.ESME else smsc
    target.events()
    target.data_to_send()
    target.receive_data(codec.encode(pdu))
    events = target.events()
    replies = target.data_to_send()
    frames = codec.FrameBuffer()
    frames.feed(replies)
    answered = [codec.decode_frame(frame) for frame in frames.frames()]
    if pdu.is_response:
        assert answered == []  # a response is never answered
    allowed = pdu.command_id in s.ALLOWED.get(
        (s.Role.SMSC if role is s.Role.ESME else s.Role.ESME, state), frozenset()
    )
    if not pdu.is_response and not allowed:
        (answer,) = answered
        assert answer.sequence_number == pdu.sequence_number
        assert answer.command_status in (
            CommandStatus.ESME_RINVBNDSTS,
            CommandStatus.ESME_RALYBND,
        )
        assert isinstance(events[0], s.ProtocolErrorOccurred)


@settings(max_examples=300)
@given(st.binary(max_size=300), st.sampled_from(s.Role))
def test_random_bytes_never_raise_from_the_session(data: bytes, role: s.Role) -> None:
    clock = FakeClock()
    session = s.Session(role, clock=clock)
    session.receive_data(data)
    session.events()
    session.data_to_send()
    session.check_timers()
