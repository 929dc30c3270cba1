import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti import text
from chatti.text import gsm7, ucs2
from chatti.text.segments import Encoding, concatenation_header

GSM_CHARS = sorted(gsm7.GSM7_CHARACTERS)
gsm_texts = st.text(st.sampled_from(GSM_CHARS), max_size=800)
any_texts = st.text(max_size=400).filter(lambda t: "\ud800" not in t)
unicode_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)


def test_basic_table_has_128_septets_and_the_escape():
    assert len(gsm7.BASIC_TABLE) == 128
    assert gsm7.BASIC_TABLE[0x1B] == "\x1b"
    assert gsm7.encode("@£$") == b"\x00\x01\x02"
    assert gsm7.encode("Aa0 ") == b"\x41\x61\x30\x20"
    assert gsm7.encode("ÄÖÑÜ§¿äöñüà") == bytes(
        [0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F]
    )


def test_extension_characters_take_an_escape():
    assert gsm7.encode("€") == b"\x1b\x65"
    assert gsm7.encode("{}[]~\\|^\f") == bytes(
        [
            0x1B,
            0x28,
            0x1B,
            0x29,
            0x1B,
            0x3C,
            0x1B,
            0x3E,
            0x1B,
            0x3D,
            0x1B,
            0x2F,
            0x1B,
            0x40,
            0x1B,
            0x14,
            0x1B,
            0x0A,
        ]
    )
    assert gsm7.encoded_length("a€") == 3


def test_decoding_is_tolerant_of_unknown_escapes_and_trailing_escape():
    assert gsm7.decode(b"\x1b\x41") == "A"  # no extension at 0x41: the basic character
    assert gsm7.decode(b"A\x1b") == "A"
    assert gsm7.decode(b"\xc1") == "A"  # high bit ignored


def test_foreign_character_is_reported_with_its_position():
    with pytest.raises(gsm7.NotGsm7Error) as caught:
        gsm7.encode("ab\u00e7")
    assert caught.value.index == 2


@given(gsm_texts)
def test_gsm7_round_trip(value: str) -> None:
    assert gsm7.decode(gsm7.encode(value)) == value
    assert len(gsm7.encode(value)) == gsm7.encoded_length(value)


@given(unicode_texts)
def test_ucs2_round_trip_including_astral_characters(value: str) -> None:
    encoded = ucs2.encode(value)
    assert ucs2.decode(encoded) == value
    assert len(encoded) == 2 * ucs2.encoded_length(value)


def test_emoji_is_a_surrogate_pair():
    assert ucs2.encode("😀") == b"\xd8\x3d\xde\x00"
    assert ucs2.encoded_length("😀") == 2


def test_smallest_encoding_is_chosen():
    assert text.choose_encoding("Hello {world} €5") is Encoding.GSM7
    assert text.choose_encoding("Grüße") is Encoding.GSM7
    assert text.choose_encoding("ç") is Encoding.UCS2
    assert text.choose_encoding("Привет") is Encoding.UCS2
    assert text.choose_encoding("hi 😀") is Encoding.UCS2


def test_segment_counts_at_the_boundaries():
    assert text.count_segments("") == 1
    assert text.count_segments("a" * 160) == 1
    assert text.count_segments("a" * 161) == 2
    assert text.count_segments("a" * 306) == 2
    assert text.count_segments("a" * 307) == 3
    assert text.count_segments("€" * 80) == 1  # 160 septets
    assert text.count_segments("€" * 81) == 2
    assert text.count_segments("ж" * 70) == 1
    assert text.count_segments("ж" * 71) == 2
    assert text.count_segments("ж" * 134) == 2
    assert text.count_segments("ж" * 135) == 3
    assert text.count_segments("😀" * 35) == 1
    assert text.count_segments("😀" * 36) == 2


def test_escape_sequence_never_split():
    message = "a" * 152 + "€" + "b" * 10  # the euro would straddle the 153-septet boundary
    encoded = text.encode(message, reference=7)
    assert [segment.text for segment in encoded.segments] == ["a" * 152, "€" + "b" * 10]
    first = encoded.segments[0].short_message
    assert first[:6] == concatenation_header(7, 2, 1)
    assert len(first) == 6 + 152


def test_surrogate_pair_never_split():
    message = "ж" * 66 + "😀" + "ж" * 10
    encoded = text.encode(message, reference=1)
    assert encoded.segments[0].text == "ж" * 66
    assert encoded.segments[1].text.startswith("😀")


def test_udh_numbers_parts_and_shares_reference():
    encoded = text.encode("x" * 400, reference=300)
    assert encoded.has_udh
    assert encoded.data_coding == 0
    headers = [segment.short_message[:6] for segment in encoded.segments]
    assert headers == [bytes([5, 0, 3, 300 & 0xFF, 3, n]) for n in (1, 2, 3)]
    assert all(len(segment.short_message) == 6 + 153 for segment in encoded.segments[:2])


def test_too_long_text_is_refused():
    with pytest.raises(text.TextTooLongError):
        text.encode("x" * (153 * 255 + 1))


@given(any_texts, st.integers(0, 255))
def test_split_parts_join_back_and_fit(value: str, reference: int) -> None:
    encoded = text.encode(value, reference)
    assert "".join(segment.text for segment in encoded.segments) == value
    assert len(encoded.segments) == text.count_segments(value)
    for segment in encoded.segments:
        payload = segment.short_message[6:] if encoded.has_udh else segment.short_message
        decoded = (
            gsm7.decode(payload) if encoded.encoding is Encoding.GSM7 else ucs2.decode(payload)
        )
        assert decoded == segment.text
        assert len(segment.short_message) <= 140 if encoded.encoding is Encoding.UCS2 else True
        if encoded.encoding is Encoding.GSM7:
            assert len(payload) <= (153 if encoded.has_udh else 160)
