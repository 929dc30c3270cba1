import hashlib
import hmac

from chatti.webhooks import signing
from chatti.webhooks.retry import WebhookRetry


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'[{"message_id":"x"}]'
    expected = hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signing.sign("secret", 1700000000, body) == f"v1={expected}"
    headers = signing.headers("secret", 1700000000, body)
    assert headers["Chatti-Timestamp"] == "1700000000"


def test_verify_accepts_good_and_refuses_tampered_old_or_foreign() -> None:
    body = b"[]"
    signature = signing.sign("s3cret", 1000, body)
    assert signing.verify("s3cret", "1000", body, signature, now=1100)
    assert not signing.verify("s3cret", "1000", b"[1]", signature, now=1100)
    assert not signing.verify("other", "1000", body, signature, now=1100)
    assert not signing.verify("s3cret", "1000", body, signature, now=1000 + 301)
    assert not signing.verify("s3cret", "soon", body, signature, now=1000)


def test_webhook_retry_backs_off_and_gives_up_after_a_day() -> None:
    policy = WebhookRetry(initial_seconds=5, maximum_seconds=3600, give_up_after_seconds=25 * 3600)
    created = 0
    assert policy.next_attempt(1, created, 10_000_000) == 15_000_000
    assert policy.next_attempt(3, created, 10_000_000) == 30_000_000
    assert policy.next_attempt(40, created, 10_000_000) == 10_000_000 + 3600_000_000
    day = 24 * 3600 * 1_000_000
    assert policy.next_attempt(30, created, day) is not None  # still trying after 24 hours
    assert policy.next_attempt(31, created, day + 3600 * 1_000_000 + 1) is None
