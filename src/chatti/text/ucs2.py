"""UCS-2 as carriers use it: UTF-16 big-endian, with characters outside the Basic
Multilingual Plane (emoji) as surrogate pairs of two code units."""

from __future__ import annotations


def encode(text: str) -> bytes:
    return text.encode("utf-16-be", errors="surrogatepass")


def decode(data: bytes) -> str:
    """Decode UTF-16BE; an odd trailing octet or a lone surrogate becomes U+FFFD, not an error."""
    return data.decode("utf-16-be", errors="replace")


def code_units(char: str) -> int:
    """16-bit code units one character takes: 2 for a surrogate pair, else 1."""
    return 2 if ord(char) > 0xFFFF else 1


def encoded_length(text: str) -> int:
    """Code units the whole text takes once encoded."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
