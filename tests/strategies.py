"""Hypothesis strategies for every SMPP 3.4 PDU, field by field from the codec's layouts."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from chatti.smpp import codec
from chatti.smpp import pdu as p
from chatti.smpp.constants import TLV_TYPES, TlvType

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
sequence_numbers = st.integers(1, 0x7FFFFFFF)


def c_octets(size: int) -> st.SearchStrategy[str]:
    """A C-octet string of at most size-1 Latin-1 characters, no NUL."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=size - 1)


def tlv_values(tag: int) -> st.SearchStrategy[p.TlvValue]:
    kind = TLV_TYPES.get(tag)
    if kind is TlvType.INT1:
        return st.integers(0, 0xFF)
    if kind is TlvType.INT2:
        return st.integers(0, 0xFFFF)
    if kind is TlvType.INT4:
        return st.integers(0, 0xFFFFFFFF)
    if kind is TlvType.COCTET:
        return c_octets(65)
    if kind is TlvType.EMPTY:
        return st.just(b"")
    return st.binary(max_size=300)


known_tags = st.sampled_from(sorted(TLV_TYPES))
unknown_tags = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TLV_TYPES)
tlvs = st.one_of(known_tags, unknown_tags).flatmap(
    lambda tag: st.builds(p.Tlv, st.just(tag), tlv_values(tag))
)

destinations: st.SearchStrategy[p.SmeAddress | p.DistributionList] = st.one_of(
    st.builds(p.SmeAddress, u8, u8, c_octets(21)),
    st.builds(p.DistributionList, c_octets(21)),
)
unsuccess = st.builds(p.UnsuccessSme, u8, u8, c_octets(21), u32)


def _field(kind: str, size: int) -> st.SearchStrategy[Any]:
    if kind is codec.C:
        return c_octets(size)
    if kind is codec.U8:
        return u8
    if kind is codec.SM:
        return st.binary(max_size=size)
    if kind is codec.DESTS:
        return st.lists(destinations, max_size=5).map(tuple)
    if kind is codec.UNSUCCESS:
        return st.lists(unsuccess, max_size=5).map(tuple)
    raise AssertionError(kind)


def pdus_of(cls: type[p.Pdu]) -> st.SearchStrategy[p.Pdu]:
    fields = {name: _field(kind, size) for name, kind, size in codec.LAYOUTS[cls]}
    return st.builds(
        cls,
        sequence_number=sequence_numbers,
        command_status=u32,
        tlvs=st.lists(tlvs, max_size=4).map(tuple),
        **fields,
    )


any_pdu = st.sampled_from(p.ALL_PDU_TYPES).flatmap(pdus_of)
