"""Reading and validating E.164 numbers as phonenumbers does, in a fraction of its time.

phonenumbers is general: it accepts any notation, and checks validity through several
layers that compile (from a cache) a pattern per number type per call. A message's
number costs it about 20 µs, a quarter of accepting a message. The shortcuts here give
the same answers for canonical E.164 numbers, from each region's metadata compiled once;
anything else goes to phonenumbers. tests/unit/test_phone_numbers.py compares both on
every region's example numbers of every type and on random numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc

_CANONICAL_E164 = re.compile(r"\+([1-9][0-9]{6,14})")


def parse_number(number: str) -> phonenumbers.PhoneNumber:
    """What `phonenumbers.parse(number, None)` returns, without its general-purpose work
    (formatting characters, extensions, national prefixes) when the number is canonical
    E.164 already: '+' and digits, a country code, and a national part that starts with
    no 0 and no national prefix of that country."""
    canonical = _CANONICAL_E164.fullmatch(number)
    if canonical is not None:
        digits = canonical[1]
        for size in (1, 2, 3):  # country codes are prefix-free
            code = int(digits[:size])
            if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                continue
            national = digits[size:]
            known, prefix = _national_prefix(code)
            if known and national[0] != "0" and not (prefix and prefix.match(national)):
                return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            break
    return phonenumbers.parse(number, None)


_PREFIXES: dict[int, tuple[bool, re.Pattern[str] | None]] = {}


def _national_prefix(code: int) -> tuple[bool, re.Pattern[str] | None]:
    """Whether the calling code has metadata, and its national prefix for parsing."""
    if code not in _PREFIXES:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            code, phonenumbers.region_code_for_country_code(code)
        )
        prefix = None if metadata is None else metadata.national_prefix_for_parsing
        _PREFIXES[code] = (metadata is not None, re.compile(prefix) if prefix else None)
    return _PREFIXES[code]


@dataclass(frozen=True, slots=True)
class _Desc:
    """A PhoneNumberDesc ready to use: its lengths (empty: any) and compiled pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, national: str) -> bool:
        return (not self.lengths or len(national) in self.lengths) and bool(
            self.pattern.fullmatch(national)
        )


def _desc(source: PhoneNumberDesc | None) -> _Desc | None:
    if source is None or not source.national_number_pattern:
        return None
    lengths = frozenset(source.possible_length or ())
    return _Desc(lengths, re.compile(source.national_number_pattern))


@dataclass(frozen=True, slots=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    general: _Desc | None
    kinds: tuple[_Desc, ...]  # every number type; mobile first, the most common

    def is_valid(self, national: str) -> bool:
        """phonenumbers' number type is not UNKNOWN: the general pattern and some type's."""
        general = self.general
        return (
            general is not None
            and general.matches(national)
            and any(kind.matches(national) for kind in self.kinds)
        )


_REGIONS: dict[str, _Region | None] = {}


def _region(code: str) -> _Region | None:
    if code not in _REGIONS:
        metadata = PhoneMetadata.metadata_for_region(code, None)
        _REGIONS[code] = None if metadata is None else _compile(metadata)
    return _REGIONS[code]


def _compile(metadata: PhoneMetadata) -> _Region:
    sources = [
        metadata.fixed_line,
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    # With one pattern for both, phonenumbers tests mobile numbers as fixed lines only.
    if not metadata.same_mobile_and_fixed_line_pattern:
        sources.insert(0, metadata.mobile)
    kinds = tuple(desc for source in sources if (desc := _desc(source)) is not None)
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    return _Region(leading, _desc(metadata.general_desc), kinds)


def valid_region(parsed: phonenumbers.PhoneNumber) -> str | None:
    """`region_code_for_number(parsed)` when `is_valid_number(parsed)`, else None."""
    calling_code = parsed.country_code
    regions = (
        None if calling_code is None else phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code)
    )
    if not regions:
        return None
    if regions == (phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY,):  # +800 and the like: rare
        return regions[0] if phonenumbers.is_valid_number(parsed) else None
    if parsed.italian_leading_zero:
        national = phonenumbers.national_significant_number(parsed)
    else:
        national = str(parsed.national_number)
    if len(regions) == 1:
        region = _region(regions[0])
        return regions[0] if region is not None and region.is_valid(national) else None
    # Several regions share the code: the first that claims the number (by its leading
    # digits, else by its patterns), as phonenumbers.region_code_for_number picks.
    for code in regions:
        region = _region(code)
        if region is None:
            continue
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return code if region.is_valid(national) else None
        elif region.is_valid(national):
            return code
    return None
