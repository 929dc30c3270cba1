"""The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038, 6.2.1).

Text is carried unpacked: one septet per octet, as SMPP 3.4 submits data_coding 0
(SMSC default alphabet). Characters of the extension table take two septets, the
escape 0x1B and the character's code. Packing septets into octets is left to the
SMSC, which is what SMPP carriers expect.
"""

from __future__ import annotations

ESCAPE = 0x1B

# 3GPP TS 23.038, 6.2.1: the basic character set, indexed by septet value.
# 0x1B is the escape to the extension table and has no character of its own.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# 3GPP TS 23.038, 6.2.1.1: the extension table, reached by ESCAPE + code.
EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ENCODE_BASIC = {char: code for code, char in enumerate(BASIC_TABLE) if code != ESCAPE}
_ENCODE_EXTENDED = {char: code for code, char in EXTENSION_TABLE.items()}

# str.translate tables for the fast paths: a character of the basic table maps to its
# septet, an extension character to ESCAPE + its code.
_TRANSLATE_ENCODE: dict[int, str] = {ord(c): chr(code) for c, code in _ENCODE_BASIC.items()}
_TRANSLATE_ENCODE.update({ord(c): chr(ESCAPE) + chr(code) for c, code in _ENCODE_EXTENDED.items()})
GSM7_CHARACTERS = frozenset(_ENCODE_BASIC) | frozenset(_ENCODE_EXTENDED)
_EXTENDED_CHARACTERS = frozenset(_ENCODE_EXTENDED)


class NotGsm7Error(ValueError):
    """The text holds a character the GSM 03.38 alphabet cannot carry."""

    def __init__(self, char: str, index: int) -> None:
        super().__init__(f"character {char!r} at index {index} is not in the GSM 03.38 alphabet")
        self.char = char
        self.index = index


def is_gsm7(text: str) -> bool:
    """True when every character of text is in the basic or extension table."""
    return GSM7_CHARACTERS.issuperset(text)


def septet_length(char: str) -> int:
    """Septets one character takes: 1 in the basic table, 2 in the extension table."""
    return 2 if char in _ENCODE_EXTENDED else 1


def encoded_length(text: str) -> int:
    """Septets the whole text takes once encoded."""
    if _EXTENDED_CHARACTERS.isdisjoint(text):  # the usual case, checked in C
        return len(text)
    return len(text) + sum(1 for char in text if char in _ENCODE_EXTENDED)


def encode(text: str) -> bytes:
    """Encode text as unpacked septets; raises NotGsm7Error for a foreign character."""
    if not GSM7_CHARACTERS.issuperset(text):
        index, char = next((i, c) for i, c in enumerate(text) if c not in GSM7_CHARACTERS)
        raise NotGsm7Error(char, index)
    return text.translate(_TRANSLATE_ENCODE).encode("latin-1")


def decode(data: bytes) -> str:
    """Decode unpacked septets.

    Tolerant, as receivers must be (23.038, 6.2.1.1): an escape before a code the
    extension table does not define stands for the basic character of that code, a
    trailing escape is dropped, and the high bit of each octet is ignored.
    """
    chars: list[str] = []
    escaped = False
    for octet in data:
        septet = octet & 0x7F
        if escaped:
            chars.append(EXTENSION_TABLE.get(septet) or BASIC_TABLE[septet].replace("\x1b", " "))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(BASIC_TABLE[septet])
    return "".join(chars)
