"""Our codec against the PyPI package smpp34 (a Rust codec): each decodes the other's bytes.

smpp34 models submit_sm and deliver_sm field by field; every other PDU it hands back as
a RawPdu (header and body), which we check against our header and body octets.
"""

from __future__ import annotations

from typing import Any

import pytest
import smpp34
from hypothesis import given, settings
from hypothesis import strategies as st

from chatti.smpp import codec
from chatti.smpp import pdu as p
from tests.strategies import pdus_of, u8

pytestmark = pytest.mark.interop

FIELDS = [name for name, _, _ in codec.LAYOUTS[p.SubmitSm]]
ascii_field = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


def same_fields(ours: p.SubmitSm | p.DeliverSm, theirs: Any) -> None:
    for name in FIELDS:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.sequence_number == theirs.sequence_number
    assert [(t.tag, codec.encode_tlv(t)[4:]) for t in ours.tlvs] == [
        (t.tag, t.value) for t in theirs.tlvs
    ]


@settings(max_examples=150)
@given(st.sampled_from([p.SubmitSm, p.DeliverSm]).flatmap(pdus_of))
def test_smpp34_decodes_our_submit_and_deliver(pdu: p.Pdu) -> None:
    assert isinstance(pdu, p.SubmitSm | p.DeliverSm)
    pdu = _ascii_only(pdu)
    theirs = smpp34.decode(codec.encode(pdu))
    assert type(theirs).__name__ == type(pdu).__name__
    same_fields(pdu, theirs)


@settings(max_examples=150)
@given(
    st.sampled_from([smpp34.SubmitSm, smpp34.DeliverSm]),
    ascii_field,
    ascii_field,
    st.binary(max_size=254),
    u8,
    u8,
    st.integers(1, 0x7FFFFFFF),
    st.lists(st.tuples(st.integers(0x1400, 0x3FFF), st.binary(max_size=50)), max_size=3),
)
def test_we_decode_smpp34_submit_and_deliver(
    cls: Any,
    source: str,
    destination: str,
    message: bytes,
    esm: int,
    coding: int,
    sequence: int,
    tlvs: list[tuple[int, bytes]],
) -> None:
    theirs = cls(
        source,
        destination,
        message,
        esm_class=esm,
        data_coding=coding,
        registered_delivery=1,
        sequence_number=sequence,
        tlvs=[smpp34.Tlv(tag, value) for tag, value in tlvs],
    )
    ours = codec.decode(theirs.encode())
    assert isinstance(ours, p.SubmitSm | p.DeliverSm)
    assert type(ours).__name__ == cls.__name__
    same_fields(ours, theirs)


@pytest.mark.parametrize(
    "cls",
    [cls for cls in p.ALL_PDU_TYPES if cls not in (p.SubmitSm, p.DeliverSm)],
    ids=lambda cls: cls.__name__,
)
@settings(max_examples=25)
@given(data=st.data())
def test_other_pdus_frame_identically(cls: type[p.Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdus_of(cls))
    wire = codec.encode(pdu)
    theirs = smpp34.decode(wire)
    assert theirs.command_id == pdu.command_id
    assert theirs.sequence_number == pdu.sequence_number
    assert isinstance(theirs, smpp34.RawPdu)
    assert theirs.command_length == len(wire)
    assert theirs.body == wire[16:]


def _ascii_only(pdu: p.SubmitSm | p.DeliverSm) -> p.SubmitSm | p.DeliverSm:
    """smpp34 reads C-octet strings as UTF-8: keep our Latin-1 fields to ASCII for it."""
    import dataclasses

    changes = {
        name: value.encode("latin-1").decode("ascii", "ignore")
        for name in FIELDS
        if isinstance(value := getattr(pdu, name), str)
    }
    tlvs = tuple(t for t in pdu.tlvs if not isinstance(t.value, str) or t.value.isascii())
    return dataclasses.replace(pdu, tlvs=tlvs, **changes)  # type: ignore[arg-type]
