import string
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti.smpp import pdu as p
from chatti.smpp.constants import EsmClass, MessageState, TlvTag
from chatti.smpp.receipts import (
    _parse_any_receipt_text,
    format_receipt_text,
    is_receipt,
    message_id_variants,
    parse_receipt,
    parse_receipt_date,
    parse_receipt_text,
)


def receipt_pdu(
    text: str, *tlvs: p.Tlv, esm_class: int = EsmClass.SMSC_DELIVERY_RECEIPT
) -> p.DeliverSm:
    return p.DeliverSm(esm_class=esm_class, short_message=text.encode("latin-1"), tlvs=tlvs)


def test_appendix_b_receipt() -> None:
    pdu = receipt_pdu(
        "id:0123456789 sub:001 dlvrd:001 submit date:2611281205 done date:2611281206"
        " stat:DELIVRD err:000 text:Hello there"
    )
    assert is_receipt(pdu)
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert receipt.message_id == "0123456789"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.is_final
    assert receipt.submitted == 1
    assert receipt.delivered == 1
    assert receipt.submit_date == datetime(2026, 11, 28, 12, 5)
    assert receipt.done_date == datetime(2026, 11, 28, 12, 6)
    assert receipt.error == "000"
    assert receipt.text == "Hello there"


@pytest.mark.parametrize(
    ("text", "message_id", "state"),
    [
        (
            "ID:ABCDEF SUB:1 DLVRD:0 SUBMIT DATE:261128120501 DONE DATE:261128120502"
            " STAT:UNDELIV ERR:34 TEXT:x",
            "ABCDEF",
            MessageState.UNDELIVERABLE,
        ),
        ("id:77 stat:EXPIRED", "77", MessageState.EXPIRED),
        ("id:77 stat:delivered err:0", "77", MessageState.DELIVERED),
        ("stat:REJECTD id:5 err:1", "5", MessageState.REJECTED),
        ("id:x_y-z submit_date:2611281205 stat:ACCEPTD", "x_y-z", MessageState.ACCEPTED),
        ("id:9 stat:WEIRD", "9", None),
    ],
)
def test_variations_seen_in_the_field(
    text: str, message_id: str, state: MessageState | None
) -> None:
    receipt = parse_receipt(receipt_pdu(text))
    assert receipt is not None
    assert receipt.message_id == message_id
    assert receipt.state is state


def test_tlvs_win_over_text() -> None:
    pdu = receipt_pdu(
        "id:1 stat:DELIVRD",
        p.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "abc"),
        p.Tlv(TlvTag.MESSAGE_STATE, MessageState.UNDELIVERABLE),
        p.Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x22"),
        esm_class=0,
    )
    assert is_receipt(pdu)
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert receipt.message_id == "abc"
    assert receipt.state is MessageState.UNDELIVERABLE


def test_tlv_only_receipt_without_text() -> None:
    pdu = receipt_pdu(
        "",
        p.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "zz"),
        p.Tlv(TlvTag.MESSAGE_STATE, 2),
        p.Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x22"),
    )
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert receipt.state is MessageState.DELIVERED
    assert receipt.error == "030022"


def test_mobile_originated_message_is_not_a_receipt() -> None:
    pdu = p.DeliverSm(short_message=b"hello, id: not a receipt")
    assert not is_receipt(pdu)
    assert parse_receipt(p.DeliverSm(short_message=b"no id here")) is None


def test_dates() -> None:
    assert parse_receipt_date("2611281205") == datetime(2026, 11, 28, 12, 5)
    assert parse_receipt_date("261128120559") == datetime(2026, 11, 28, 12, 5, 59)
    assert parse_receipt_date("2613281205") is None
    assert parse_receipt_date("26112812") is None
    assert parse_receipt_date("") is None


def test_hex_and_decimal_id_forms() -> None:
    assert "ff" in message_id_variants("255", convert_base=True)
    assert "255" in message_id_variants("FF", convert_base=True)
    assert "255" in message_id_variants("00ff", convert_base=True)
    assert "ff" not in message_id_variants("255")  # "ff" and "255" differ for a hex carrier
    assert message_id_variants("00AB") == ("00AB", "00ab", "ab")
    assert message_id_variants("abc-1")[0] == "abc-1"


def test_format_round_trips_through_the_parser() -> None:
    when = datetime(2026, 11, 28, 12, 5)
    text = format_receipt_text(
        "1f", MessageState.EXPIRED, submit_date=when, done_date=when, error=5
    )
    receipt = parse_receipt(receipt_pdu(text))
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.error) == ("1f", MessageState.EXPIRED, "005")


_VALUE = st.text(alphabet=string.ascii_letters + string.digits, max_size=12)


@given(
    st.tuples(*[_VALUE] * 7),
    st.none() | st.text(alphabet=string.printable, max_size=30),
)
def test_the_appendix_b_fast_path_reads_what_the_general_parser_reads(
    values: tuple[str, ...], text: str | None
) -> None:
    keys = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err")
    receipt = " ".join(f"{key}:{value}" for key, value in zip(keys, values, strict=True))
    if text is not None:
        receipt += f" text:{text}"
    assert parse_receipt_text(receipt) == _parse_any_receipt_text(receipt)
