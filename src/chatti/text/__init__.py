"""SMS text: GSM 03.38 and UCS-2 encoding, segment counting and splitting. Pure functions."""

from chatti.text.segments import (
    LIMITS,
    EncodedText,
    Encoding,
    Segment,
    TextTooLongError,
    choose_encoding,
    count_segments,
    encode,
)

__all__ = [
    "LIMITS",
    "EncodedText",
    "Encoding",
    "Segment",
    "TextTooLongError",
    "choose_encoding",
    "count_segments",
    "encode",
]
