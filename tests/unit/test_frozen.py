import dataclasses

import pytest
from hypothesis import given

from chatti.frozen import cheap_init
from chatti.smpp import pdu as p
from chatti.text.segments import EncodedText, Encoding, Segment
from tests.strategies import any_pdu


@dataclasses.dataclass(frozen=True, slots=True)
class _Reference:
    first: int
    second: str = "two"
    third: tuple[int, ...] = dataclasses.field(default=(), kw_only=True)


@cheap_init
@dataclasses.dataclass(frozen=True, slots=True)
class _Cheap:
    first: int
    second: str = "two"
    third: tuple[int, ...] = dataclasses.field(default=(), kw_only=True)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "b"), {}), ((1,), {"third": (3,)}), ((), {"first": 1, "second": "b"})],
)
def test_builds_what_the_dataclass_init_builds(args, kwargs):
    cheap = _Cheap(*args, **kwargs)
    reference = _Reference(*args, **kwargs)
    assert dataclasses.astuple(cheap) == dataclasses.astuple(reference)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, "b", (3,)), {}), ((1,), {"fourth": 4}), ((1,), {"first": 1})],
)
def test_refuses_the_calls_the_dataclass_init_refuses(args, kwargs):
    with pytest.raises(TypeError):
        _Reference(*args, **kwargs)
    with pytest.raises(TypeError):
        _Cheap(*args, **kwargs)


def test_instances_stay_frozen_and_comparable():
    value = _Cheap(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.first = 2  # type: ignore[misc]
    assert value == _Cheap(1)
    assert hash(value) == hash(_Cheap(1))
    assert value != _Cheap(2)


def test_only_frozen_slotted_dataclasses_without_post_init():
    @dataclasses.dataclass(slots=True)
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithPostInit:
        x: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        x: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, NoSlots, WithPostInit, WithFactory):
        with pytest.raises(TypeError):
            cheap_init(cls)


@given(any_pdu)
def test_every_pdu_type_rebuilds_from_its_fields(pdu):
    fields = {field.name: getattr(pdu, field.name) for field in dataclasses.fields(pdu)}
    rebuilt = type(pdu)(**fields)
    assert rebuilt == pdu
    assert {name: getattr(rebuilt, name) for name in fields} == fields


@pytest.mark.parametrize("cls", [*p.ALL_PDU_TYPES, p.Tlv, Segment, EncodedText])
def test_defaults_are_the_declared_ones(cls):
    fields = dataclasses.fields(cls)
    required = {
        field.name: object()
        for field in fields
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    value = cls(**required)
    for field in fields:
        expected = required.get(field.name, field.default)
        assert getattr(value, field.name) is expected


def test_pdus_keep_their_keyword_only_signature():
    with pytest.raises(TypeError):
        p.SubmitSm(1)  # type: ignore[call-arg]
    assert p.Tlv(0x001E, "abc") == p.Tlv(tag=0x001E, value="abc")
    assert EncodedText(Encoding.GSM7, 0, ()).segments == ()
