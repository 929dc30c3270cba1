import random

import pytest

from chatti.simulator.outcomes import ReceiptMix
from chatti.smpp.constants import MessageState
from chatti.smpp.throttle import ThrottleBackoff


def test_receipt_mix_parsing() -> None:
    assert ReceiptMix.parse("1") == ReceiptMix(1.0, 0.0, 0.0)
    share = ReceiptMix.parse("0.9")
    assert (share.delivered, share.undeliverable, share.expired) == pytest.approx((0.9, 0.1, 0))
    mix = ReceiptMix.parse("90:8:2")
    assert (mix.delivered, mix.undeliverable, mix.expired) == pytest.approx((0.9, 0.08, 0.02))
    for bad in ("x", "1.5", "1:2", "-1", "0:0:0"):
        with pytest.raises(ValueError, match="dlr-ratio"):
            ReceiptMix.parse(bad)


def test_receipt_mix_draws_in_proportion() -> None:
    mix = ReceiptMix.parse("70:20:10")
    rng = random.Random(1)
    draws = [mix.choose(rng) for _ in range(10_000)]
    assert 0.67 < draws.count(MessageState.DELIVERED) / 10_000 < 0.73
    assert 0.17 < draws.count(MessageState.UNDELIVERABLE) / 10_000 < 0.23
    assert 0.08 < draws.count(MessageState.EXPIRED) / 10_000 < 0.12


def test_throttle_backoff_grows_caps_and_resets() -> None:
    backoff = ThrottleBackoff(initial=0.1, factor=2, maximum=0.5)
    assert [backoff.on_throttled() for _ in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    backoff.on_success()
    assert backoff.on_throttled() == pytest.approx(0.1)
