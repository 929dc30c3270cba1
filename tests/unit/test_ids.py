from hypothesis import given
from hypothesis import strategies as st

from chatti.store.ids import new_ulid, ulid_text

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reference_ulid(milliseconds: int, randomness: bytes) -> str:
    """The ULID spec read literally: a 128-bit number in 26 base-32 digits."""
    value = (milliseconds << 80) | int.from_bytes(randomness, "big")
    return "".join(CROCKFORD[(value >> (5 * n)) & 31] for n in range(25, -1, -1))


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_ulid_is_the_128_bit_number_in_crockford_base32(milliseconds: int, random: bytes) -> None:
    assert ulid_text(milliseconds, random) == reference_ulid(milliseconds, random)


def test_ulids_sort_by_time_and_do_not_repeat() -> None:
    ids = [new_ulid(1_800_000_000_000 + n // 10) for n in range(1000)]
    assert len(set(ids)) == 1000
    assert [i[:10] for i in ids] == sorted(i[:10] for i in ids)
    assert all(len(i) == 26 and set(i) <= set(CROCKFORD) for i in ids)
