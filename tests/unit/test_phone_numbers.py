"""parse_number's shortcut for canonical E.164 must read every number exactly as
phonenumbers.parse does: same validity, same E.164 form, same country."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatti.api.validation import check_recipient, parse_number


def outcome(parsed: phonenumbers.PhoneNumber) -> tuple[bool, str, str | None]:
    return (
        phonenumbers.is_valid_number(parsed),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(parsed),
    )


def same_as_phonenumbers(number: str) -> None:
    try:
        expected = outcome(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        with pytest.raises(phonenumbers.NumberParseException):
            parse_number(number)
        return
    assert outcome(parse_number(number)) == expected, number


EXAMPLES = sorted(
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
)


def test_every_regions_example_numbers_read_alike() -> None:
    assert len(EXAMPLES) > 400
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
