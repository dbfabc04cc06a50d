"""Numbers typed into the rural credit model's forms: whatever the text, a parser answers (a value
or None for "not one"), never an exception that would be a 500."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain import village


@given(st.one_of(st.text(max_size=40), st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{0,6})?([eE][+-]?[0-9]{1,5})?", fullmatch=True)))
def test_a_white_list_limit_is_parsed_or_refused_never_raised(text):
    value = village.parse_limit(text)
    assert value is None or (value.is_finite() and abs(value) < village.LIMIT_CEILING
                             and value == value.quantize(Decimal("0.01")))


def test_past_28_digits_is_not_a_limit():
    for text in ("1e30", "1E+27", "1e9999", "1" * 40, "-1e9999"):
        assert village.parse_limit(text) is None
    assert village.parse_limit("12,000.50") == Decimal("12000.50")


@given(st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{0,6})?([eE][+-]?[0-9]{1,5})?", fullmatch=True))
def test_a_scorecards_rounding_step_is_accepted_or_refused_never_raised(text):
    import copy

    from app.domain import scorecard

    card = copy.deepcopy(scorecard.Scorecard.from_dict(scorecard.DEFAULT_SCORECARD).to_dict())
    card["limit"]["step"] = text
    try:
        parsed = scorecard.Scorecard.from_dict(card)
    except scorecard.ScorecardError:
        return
    assert 0 < parsed.limit.step <= 1000000
