"""Delivery receipts: the text of SMPP 3.4 Appendix B and the TLVs that carry the same.

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:...

Carriers vary it: keys in upper case, fields missing or reordered, dates with seconds
(12 digits), ids in hex where submit_sm_resp gave decimal or the other way round,
stat words spelled out. The receipted_message_id and message_state TLVs, when
present, win over the text. Parsing never raises on a receipt it can read an id from.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from chatti.smpp import pdu as p
from chatti.smpp.constants import MESSAGE_TYPE_MASK, EsmClass, MessageState, TlvTag

_KEY = re.compile(r"(?i)\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:")

# Appendix B's seven-letter words, and the longer spellings seen in the field.
_STATES = {
    "DELIVRD": MessageState.DELIVERED,
    "DELIVERED": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "ACCEPTED": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "REJECTED": MessageState.REJECTED,
    "ENROUTE": MessageState.ENROUTE,
}
STAT_WORDS = {
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.ENROUTE: "ENROUTE",
}
_STATE_VALUES = {int(state): state for state in MessageState}  # MessageState(v) costs 1 µs
FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.REJECTED,
    }
)


class Receipt(NamedTuple):
    message_id: str
    state: MessageState | None  # None when the stat word is one we do not know
    stat: str  # the word as the carrier wrote it
    error: str  # err: from the text, or the network_error_code TLV in hex
    submitted: int | None
    delivered: int | None
    submit_date_text: str  # YYMMDDhhmm[ss] as written; read as a date when asked for
    done_date_text: str
    text: str

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def submit_date(self) -> datetime | None:
        return parse_receipt_date(self.submit_date_text)

    @property
    def done_date(self) -> datetime | None:
        return parse_receipt_date(self.done_date_text)


def is_receipt(pdu: p.Pdu) -> bool:
    """True for a deliver_sm or data_sm that reports on a message rather than carrying one."""
    if not isinstance(pdu, p.DeliverSm | p.DataSm):
        return False
    message_type = pdu.esm_class & MESSAGE_TYPE_MASK
    if message_type in (EsmClass.SMSC_DELIVERY_RECEIPT, EsmClass.INTERMEDIATE_NOTIFICATION):
        return True
    return pdu.tlv(TlvTag.RECEIPTED_MESSAGE_ID) is not None


def parse_receipt(pdu: p.DeliverSm | p.DataSm) -> Receipt | None:
    """The receipt a PDU carries, or None when it names no message id."""
    raw: bytes = pdu.short_message if isinstance(pdu, p.DeliverSm) else b""
    tlvs = {tlv.tag: tlv.value for tlv in reversed(pdu.tlvs)}  # the first of a tag wins
    payload = tlvs.get(TlvTag.MESSAGE_PAYLOAD)
    if not raw and isinstance(payload, bytes):
        raw = payload
    fields = parse_receipt_text(raw.decode("latin-1"))
    tlv_id = tlvs.get(TlvTag.RECEIPTED_MESSAGE_ID)
    message_id = tlv_id if isinstance(tlv_id, str) and tlv_id else fields.get("id", "")
    if not message_id:
        return None
    stat = fields.get("stat", "")
    state = _STATES.get(stat.upper())
    tlv_state = tlvs.get(TlvTag.MESSAGE_STATE)
    if isinstance(tlv_state, int):
        state = _STATE_VALUES.get(tlv_state, state)
    error = fields.get("err", "")
    network_error = tlvs.get(TlvTag.NETWORK_ERROR_CODE)
    if not error and isinstance(network_error, bytes) and network_error:
        error = network_error.hex()
    return Receipt(
        message_id=message_id,
        state=state,
        stat=stat,
        error=error,
        submitted=_int_or_none(fields.get("sub")),
        delivered=_int_or_none(fields.get("dlvrd")),
        submit_date_text=fields.get("submit date", ""),
        done_date_text=fields.get("done date", ""),
        text=fields.get("text", ""),
    )


# Appendix B's layout exactly, as most carriers (and our simulator) send it: one match
# instead of a search per key. Anything else goes through the general parser below.
_APPENDIX_B = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)"
    r"(?: text:(.*))?",
    re.DOTALL,
)
_APPENDIX_B_KEYS = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err")


def parse_receipt_text(text: str) -> dict[str, str]:
    """Split receipt text into its fields, keys lower-cased ("submit date", ...)."""
    exact = _APPENDIX_B.fullmatch(text)
    if exact is not None:
        fields = dict(zip(_APPENDIX_B_KEYS, exact.groups(), strict=False))
        if exact[8] is not None:
            fields["text"] = exact[8].strip()
        return fields
    return _parse_any_receipt_text(text)


def _parse_any_receipt_text(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = match.group(1).lower().replace("_", " ")
        if key == "text":
            fields[key] = text[match.end() :].strip()
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    return fields


def parse_receipt_date(value: str) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss, read as UTC; None when it is neither."""
    digits = value.strip()
    if not digits.isdigit() or len(digits) not in (10, 12):
        return None
    year = int(digits[0:2])
    year += 2000 if year < 69 else 1900  # as strptime's %y; strptime itself is slow
    second = int(digits[10:12]) if len(digits) == 12 else 0
    try:
        return datetime(
            year,
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            second,
        )
    except ValueError:
        return None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def message_id_variants(message_id: str, *, convert_base: bool = False) -> tuple[str, ...]:
    """The forms one carrier id may take between submit_sm_resp and its receipt.

    Some carriers pad with zeros or change case between the two; some answer submit_sm
    with a hex id and report it in decimal in the receipt (or the reverse). Matching
    tries each form in order, the id as given first. Base conversion is off unless
    asked for: for a carrier whose ids are consistently hex, "10" and "a" are two
    different messages.
    """
    variants = [message_id]
    stripped = message_id.strip()
    lowered = stripped.lower()
    for form in (stripped, lowered, stripped.upper(), lowered.lstrip("0") or "0"):
        if form not in variants:
            variants.append(form)
    if not convert_base:
        return tuple(variants)
    if stripped.isdigit():
        as_hex = format(int(stripped), "x")
        variants.extend(v for v in (as_hex, as_hex.upper()) if v not in variants)
    try:
        as_decimal = str(int(stripped, 16))
    except ValueError:
        pass
    else:
        if as_decimal not in variants:
            variants.append(as_decimal)
    return tuple(variants)


def format_receipt_text(
    message_id: str,
    state: MessageState,
    *,
    submit_date: datetime,
    done_date: datetime,
    error: int = 0,
    text: str = "",
) -> str:
    """Receipt text as Appendix B writes it (used by the simulator)."""
    delivered = 1 if state is MessageState.DELIVERED else 0
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered:03d}"
        f" submit date:{_minute(submit_date)} done date:{_minute(done_date)}"
        f" stat:{STAT_WORDS[state]} err:{error:03d} text:{text[:20]}"
    )


_MINUTES: dict[tuple[int, int, int, int, int], str] = {}


def _minute(moment: datetime) -> str:
    """YYMMDDhhmm; receipts of one minute share it, so strftime runs once a minute."""
    key = (moment.year, moment.month, moment.day, moment.hour, moment.minute)
    stamp = _MINUTES.get(key)
    if stamp is None:
        if len(_MINUTES) > 100:
            _MINUTES.clear()
        stamp = _MINUTES[key] = moment.strftime("%y%m%d%H%M")
    return stamp


__all__ = [
    "Receipt",
    "format_receipt_text",
    "is_receipt",
    "message_id_variants",
    "parse_receipt",
    "parse_receipt_date",
    "parse_receipt_text",
]
