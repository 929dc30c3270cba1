"""Choosing an encoding, counting segments and splitting a text into concatenated parts.

An SMS carries 140 octets. A single message holds 160 GSM septets or 70 UCS-2 code
units; when it must be split, each part gives 6 octets to a user data header
(3GPP TS 23.040, 9.2.3.24.1: concatenated short messages, 8-bit reference), leaving
153 septets or 67 code units. A part never ends inside an escape sequence or a
surrogate pair: each character goes whole into one part.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatti.frozen import cheap_init
from chatti.text import gsm7, ucs2

MAX_PARTS = 255  # the 8-bit "total parts" field of the concatenation header


class Encoding(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class Limits:
    single: int  # units in a message sent whole
    part: int  # units in each part of a concatenated message
    data_coding: int  # SMPP 3.4, 5.2.19


LIMITS = {
    Encoding.GSM7: Limits(single=160, part=153, data_coding=0x00),
    Encoding.UCS2: Limits(single=70, part=67, data_coding=0x08),
}

_UNITS: dict[Encoding, Callable[[str], int]] = {
    Encoding.GSM7: gsm7.septet_length,
    Encoding.UCS2: ucs2.code_units,
}
_LENGTH: dict[Encoding, Callable[[str], int]] = {
    Encoding.GSM7: gsm7.encoded_length,
    Encoding.UCS2: ucs2.encoded_length,
}
_ENCODE: dict[Encoding, Callable[[str], bytes]] = {
    Encoding.GSM7: gsm7.encode,
    Encoding.UCS2: ucs2.encode,
}


class TextTooLongError(ValueError):
    """The text needs more parts than a concatenation header can number."""


@cheap_init  # one of each per message sent: see chatti.frozen
@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    short_message: bytes  # the user data header, if any, then the encoded text


@cheap_init
@dataclass(frozen=True, slots=True)
class EncodedText:
    encoding: Encoding
    data_coding: int
    segments: tuple[Segment, ...]

    @property
    def has_udh(self) -> bool:
        """True when the parts carry a header (set esm_class UDHI, 0x40)."""
        return len(self.segments) > 1


def choose_encoding(text: str) -> Encoding:
    """The smallest encoding that carries text exactly."""
    return Encoding.GSM7 if gsm7.is_gsm7(text) else Encoding.UCS2


def count_segments(text: str, encoding: Encoding | None = None) -> int:
    """How many SMS the text costs once sent."""
    encoding = encoding or choose_encoding(text)
    limits = LIMITS[encoding]
    if _LENGTH[encoding](text) <= limits.single:
        return 1
    return sum(1 for _ in _split_text(text, encoding, limits.part))


def encode(text: str, reference: int = 0, encoding: Encoding | None = None) -> EncodedText:
    """Encode text, split into parts with headers that share `reference` (0-255) if too long."""
    encoding = encoding or choose_encoding(text)
    limits = LIMITS[encoding]
    encode_part = _ENCODE[encoding]
    if _LENGTH[encoding](text) <= limits.single:
        segment = Segment(text=text, short_message=encode_part(text))
        return EncodedText(encoding, limits.data_coding, (segment,))
    pieces = list(_split_text(text, encoding, limits.part))
    if len(pieces) > MAX_PARTS:
        raise TextTooLongError(f"text needs {len(pieces)} parts, at most {MAX_PARTS} can be sent")
    total = len(pieces)
    segments = tuple(
        Segment(
            text=piece,
            short_message=concatenation_header(reference, total, number) + encode_part(piece),
        )
        for number, piece in enumerate(pieces, start=1)
    )
    return EncodedText(encoding, limits.data_coding, segments)


def concatenation_header(reference: int, total: int, number: int) -> bytes:
    """UDH with one information element: concatenated short messages, 8-bit reference."""
    return bytes((0x05, 0x00, 0x03, reference & 0xFF, total, number))


def _split_text(text: str, encoding: Encoding, capacity: int) -> Iterator[str]:
    units_of = _UNITS[encoding]
    start = 0
    used = 0
    for index, char in enumerate(text):
        units = units_of(char)
        if used + units > capacity:
            yield text[start:index]
            start, used = index, 0
        used += units
    yield text[start:]
