"""The minimum phone-app version's rule and the masked phone number (issue 12 item 10)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain import versions
from app.domain.phone import mask_mobile

part = st.integers(0, 9999)


@given(part, part, part, part, part, part)
def test_a_minimum_is_accepted_exactly_when_it_is_a_version_not_above_the_current(a, b, c, x, y, z):
    text, current = f"{a}.{b}.{c}", f"{x}.{y}.{z}"
    assert versions.parse(text) == (a, b, c)
    assert (versions.check_minimum(text, current=current) is None) == ((a, b, c) <= (x, y, z))


def test_anything_but_three_numbers_is_refused_with_an_example():
    for bad in ("", "0.3", "0.3.0.1", "v0.3.0", "0.3.0-beta", "0.03.0", " . . ", "0.3.x", "１.0.0", "1０.0.0", "99999.0.0"):
        problem = versions.check_minimum(bad, current="0.3.0")
        assert problem is not None and problem[1] == {"example": "0.3.0"}, bad
    assert versions.check_minimum(" 0.2.0 ", current="0.3.0") is None


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_a_masked_mobile_shows_seven_digits_at_most(number):
    masked = mask_mobile(number)
    assert masked == number[:3] + "****" + number[-4:] and sum(c.isdigit() for c in masked) == 7
