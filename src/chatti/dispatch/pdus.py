"""A stored message as the submit_sm PDUs that carry it. Pure."""

from __future__ import annotations

from chatti import text as sms_text
from chatti.smpp import pdu as p
from chatti.smpp.constants import EsmClass, Npi, RegisteredDelivery, Ton
from chatti.store.sending import Claimed

_ENCODINGS = {encoding.value: encoding for encoding in sms_text.Encoding}  # Encoding(v) costs 1 µs


def submit_pdus(message: Claimed, reference: int) -> list[p.SubmitSm]:
    """One submit_sm per segment, asking for a receipt; `reference` ties the parts."""
    encoded = sms_text.encode(message.body, reference, _ENCODINGS[message.encoding])
    source_ton, source_npi, source = sender_address(message.sender)
    esm_class = EsmClass.UDHI if encoded.has_udh else EsmClass.DEFAULT
    validity = relative_time(message.validity_period) if message.validity_period else ""
    return [
        p.SubmitSm(
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=Ton.INTERNATIONAL,
            dest_addr_npi=Npi.ISDN,
            destination_addr=message.to_number.lstrip("+"),
            esm_class=esm_class,
            validity_period=validity,
            registered_delivery=RegisteredDelivery.SMSC_RECEIPT_ALWAYS,
            data_coding=encoded.data_coding,
            short_message=segment.short_message,
        )
        for segment in encoded.segments
    ]


def sender_address(sender: str) -> tuple[int, int, str]:
    """(TON, NPI, address) for a sender id: alphanumeric (5/0), or a number: international
    (1/1) when it is long enough to be one, else a short code (3/0, network specific)."""
    digits = sender.lstrip("+")
    if not digits.isdigit():
        return Ton.ALPHANUMERIC, Npi.UNKNOWN, sender
    if len(digits) >= 8:
        return Ton.INTERNATIONAL, Npi.ISDN, digits
    return Ton.NETWORK_SPECIFIC, Npi.UNKNOWN, digits


def relative_time(seconds: int) -> str:
    """SMPP 3.4, 7.1.1.2: relative time "YYMMDDhhmmss000R"."""
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    years, day = divmod(days, 365)
    months, day = divmod(day, 30)
    return f"{years:02d}{months:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}000R"
