"""Checking a message before it is accepted. Pure: no I/O, no framework.

Numbers must be E.164 ("+" and the country code): the country is derived from them, and
routing depends on it. Sender ids follow what carriers pass through: up to 11
alphanumeric characters (GSM 03.40's alphanumeric address), or up to 15 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from chatti import text as sms_text
from chatti.api.numbers import parse_number, valid_region

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
    country = valid_region(parsed)
    if country is None:
        return FieldError("to", "invalid_phone_number", f"{number!r} is not a valid number")
    if country == "001":
        return FieldError("to", "invalid_phone_number", f"{number!r} belongs to no country")
    return Recipient(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), country
    )


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
