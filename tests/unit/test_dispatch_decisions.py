import pytest

from chatti.dispatch import retry
from chatti.dispatch.health import COOL_DOWN_SECONDS, FAILURES_TO_TRIP, CarrierHealth
from chatti.dispatch.pdus import relative_time, sender_address, submit_pdus
from chatti.dispatch.ratelimit import TokenBucket
from chatti.dispatch.routing import carriers_for
from chatti.smpp.constants import CommandStatus, EsmClass, Npi, Ton
from chatti.store.models import Route
from chatti.store.sending import Claimed

ROUTES = [
    Route("*", ("default",)),
    Route("DE", ("german",)),
    Route("+4915", ("mobile-de",)),
    Route("+49151", ("t-mobile", "backup")),
]


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("+4915112345678", "DE", ("t-mobile", "backup")),  # longest prefix
        ("+4915712345678", "DE", ("mobile-de",)),
        ("+4930123456", "DE", ("german",)),  # country
        ("+33612345678", "FR", ("default",)),  # default
    ],
)
def test_most_specific_route_wins(number: str, country: str, expected: tuple[str, ...]) -> None:
    assert carriers_for(ROUTES, number, country) == expected


def test_no_route_gives_no_carrier() -> None:
    assert carriers_for([Route("DE", ("german",))], "+33612345678", "FR") == ()


def test_permanent_refusals_give_up_others_retry_with_growing_backoff() -> None:
    now = 1_000_000_000
    assert isinstance(retry.decide(1, CommandStatus.ESME_RINVDSTADR, now), retry.GiveUp)
    first = retry.decide(1, CommandStatus.ESME_RTHROTTLED, now)
    third = retry.decide(3, CommandStatus.ESME_RSYSERR, now)
    unknown = retry.decide(2, None, now)
    assert isinstance(first, retry.RetryAt)
    assert first.when == now + 1_000_000
    assert isinstance(third, retry.RetryAt)
    assert third.when == now + 4_000_000
    assert isinstance(unknown, retry.RetryAt)
    assert retry.backoff(50) == retry.MAX_DELAY_US
    vendor = retry.decide(1, 0x401, now)
    assert isinstance(vendor, retry.RetryAt)


def test_token_bucket_spaces_submits() -> None:
    bucket = TokenBucket(rate=10)
    delays = [bucket.take(100.0) for _ in range(12)]
    assert delays[:10] == [0.0] * 10  # a second's burst
    assert delays[10] == pytest.approx(0.1)
    assert delays[11] == pytest.approx(0.2)
    assert TokenBucket(rate=0).take(1.0) == 0.0
    refilled = TokenBucket(rate=10)
    for _ in range(10):
        refilled.take(100.0)
    assert refilled.take(101.0) == 0.0


def test_carrier_rests_after_failures_in_a_row() -> None:
    health = CarrierHealth()
    assert not health.usable(bound=False, now=0)
    for _ in range(FAILURES_TO_TRIP):
        health.record_failure(now=10)
    assert not health.usable(bound=True, now=10)
    assert health.usable(bound=True, now=10 + COOL_DOWN_SECONDS)
    health.record_failure(now=100)
    health.record_success()
    assert health.failures_in_a_row == 0


def test_sender_addresses() -> None:
    assert sender_address("Chatti") == (Ton.ALPHANUMERIC, Npi.UNKNOWN, "Chatti")
    assert sender_address("+4915112345678") == (Ton.INTERNATIONAL, Npi.ISDN, "4915112345678")
    assert sender_address("12345") == (Ton.NETWORK_SPECIFIC, Npi.UNKNOWN, "12345")


def test_relative_validity() -> None:
    assert relative_time(3600) == "000000010000000R"
    assert relative_time(2 * 86400 + 61) == "000002000101000R"


def message(body: str, encoding: str, segments: int) -> Claimed:
    return Claimed(
        "01TEST",
        "+4915112345678",
        "DE",
        "Chatti",
        body,
        encoding,
        segments,
        3600,
        1,
        False,
        ("acct_test", None),
    )


def test_long_message_becomes_parts_with_udh() -> None:
    pdus = submit_pdus(message("x" * 200, "gsm7", 2), reference=9)
    assert len(pdus) == 2
    assert all(pdu.esm_class & EsmClass.UDHI for pdu in pdus)
    assert pdus[0].short_message[:6] == bytes([5, 0, 3, 9, 2, 1])
    assert pdus[0].destination_addr == "4915112345678"
    assert pdus[0].registered_delivery == 1
    assert pdus[0].validity_period == "000000010000000R"


def test_unicode_message_uses_ucs2() -> None:
    (pdu,) = submit_pdus(message("Привет", "ucs2", 1), reference=1)
    assert pdu.data_coding == 8
    assert pdu.short_message == "Привет".encode("utf-16-be")
    assert pdu.esm_class == 0
