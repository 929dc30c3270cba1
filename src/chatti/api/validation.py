"""Checking a message before it is accepted. Pure: no I/O, no framework.

Numbers must be E.164 ("+" and the country code): the country is derived from them, and
routing depends on it. Sender ids follow what carriers pass through: up to 11
alphanumeric characters (GSM 03.40's alphanumeric address), or up to 15 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata

from chatti import text as sms_text

MAX_TEXT_CHARACTERS = 1600  # ten or more SMS: beyond this a text is almost surely a mistake
MIN_VALIDITY_SECONDS = 60
MAX_VALIDITY_SECONDS = 7 * 24 * 3600  # what SMSCs commonly accept as a relative validity
MAX_REFERENCE = 128
MAX_URL = 2000

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .\-_&]{1,11}$")
_NUMERIC_SENDER = re.compile(r"^\+?[0-9]{1,15}$")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Recipient:
    e164: str
    country: str


def check_recipient(number: str) -> Recipient | FieldError:
    if not number.startswith("+"):
        return FieldError(
            "to", "invalid_phone_number", "give the number in E.164 form, e.g. +4915112345678"
        )
    try:
        parsed = parse_number(number)
    except phonenumbers.NumberParseException:
        return FieldError("to", "invalid_phone_number", f"{number!r} is not a phone number")
    if not phonenumbers.is_valid_number(parsed):
        return FieldError("to", "invalid_phone_number", f"{number!r} is not a valid number")
    country = phonenumbers.region_code_for_number(parsed)
    if not country or country == "001":
        return FieldError("to", "invalid_phone_number", f"{number!r} belongs to no country")
    return Recipient(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), country
    )


_CANONICAL_E164 = re.compile(r"\+([1-9][0-9]{6,14})")


def parse_number(number: str) -> phonenumbers.PhoneNumber:
    """What `phonenumbers.parse(number, None)` returns, without its general-purpose work
    (formatting characters, extensions, national prefixes: 13 µs a number, a fifth of
    accepting a message) when the number is canonical E.164 already: '+' and digits, a
    country code, and a national part that starts with no 0 and no national prefix of
    that country. Anything else goes to phonenumbers.parse. A test compares the two on
    every region's example numbers and on random ones."""
    canonical = _CANONICAL_E164.fullmatch(number)
    if canonical is not None:
        digits = canonical[1]
        for size in (1, 2, 3):  # country codes are prefix-free
            code = int(digits[:size])
            if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                continue
            national = digits[size:]
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(
                code, phonenumbers.region_code_for_country_code(code)
            )
            prefix = None if metadata is None else metadata.national_prefix_for_parsing
            if (
                metadata is not None
                and national[0] != "0"
                and not (prefix and re.match(prefix, national))
            ):
                return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            break
    return phonenumbers.parse(number, None)


def check_sender(sender: str) -> FieldError | None:
    if _NUMERIC_SENDER.match(sender) or _ALPHANUMERIC_SENDER.match(sender):
        return None
    return FieldError(
        "from",
        "invalid_sender",
        "a sender is up to 11 letters and digits (with at least one letter) or up to 15 digits",
    )


@dataclass(frozen=True, slots=True)
class TextCost:
    encoding: sms_text.Encoding
    segments: int


def check_text(body: str) -> TextCost | FieldError:
    if not body:
        return FieldError("text", "empty_text", "text must not be empty")
    if len(body) > MAX_TEXT_CHARACTERS:
        return FieldError(
            "text",
            "text_too_long",
            f"text has {len(body)} characters, at most {MAX_TEXT_CHARACTERS}",
        )
    encoding = sms_text.choose_encoding(body)
    return TextCost(encoding, sms_text.count_segments(body, encoding))


def check_validity(seconds: int | None) -> FieldError | None:
    if seconds is None or MIN_VALIDITY_SECONDS <= seconds <= MAX_VALIDITY_SECONDS:
        return None
    return FieldError(
        "validity_period",
        "invalid_validity_period",
        f"validity_period is in seconds, {MIN_VALIDITY_SECONDS} to {MAX_VALIDITY_SECONDS}",
    )


def check_callback_url(url: str | None) -> FieldError | None:
    if url is None:
        return None
    if len(url) > MAX_URL or not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
        return FieldError("callback_url", "invalid_url", "callback_url must be an http(s) URL")
    return None
