"""The shortcuts of chatti.api.numbers must read every number exactly as phonenumbers
does: parse_number as phonenumbers.parse, valid_region as is_valid_number with
region_code_for_number; so the same validity, E.164 form and country."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti.api.numbers import parse_number, valid_region
from chatti.api.validation import check_recipient


def outcome(parsed: phonenumbers.PhoneNumber) -> tuple[bool, str, str | None]:
    return (
        phonenumbers.is_valid_number(parsed),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(parsed),
    )


def same_as_phonenumbers(number: str) -> None:
    try:
        reference = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        with pytest.raises(phonenumbers.NumberParseException):
            parse_number(number)
        return
    expected = outcome(reference)
    parsed = parse_number(number)
    assert outcome(parsed) == expected, number
    valid, _, region = expected
    assert valid_region(parsed) == (region if valid else None), number
    assert valid_region(reference) == (region if valid else None), number


EXAMPLES = sorted(
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in phonenumbers.PhoneNumberType.values()
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
) + sorted(
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    if (example := phonenumbers.example_number_for_non_geo_entity(code)) is not None
)


def test_every_regions_example_numbers_read_alike() -> None:
    assert len(EXAMPLES) > 1000
    for number in EXAMPLES:
        same_as_phonenumbers(number)
        same_as_phonenumbers(number[:-1])  # one digit short: often invalid
        same_as_phonenumbers(number[:1] + number[1:3] + "0" + number[3:])  # a 0 after the code


@given(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.text(alphabet="0123456789", min_size=4, max_size=13),
)
def test_random_numbers_read_alike(code: int, national: str) -> None:
    same_as_phonenumbers(f"+{code}{national}")


@given(st.text(alphabet="+0123456789 -()", max_size=18))
def test_anything_else_reads_alike(number: str) -> None:
    same_as_phonenumbers(number)


def test_the_recipient_check_keeps_its_answers() -> None:
    accepted = check_recipient("+4915112345678")
    assert accepted == check_recipient("+49 151 1234 5678")
    assert getattr(accepted, "e164", None) == "+4915112345678"
    assert getattr(accepted, "country", None) == "DE"
    assert getattr(check_recipient("+4900000"), "code", None) == "invalid_phone_number"
