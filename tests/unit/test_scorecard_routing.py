"""Routing by the scorecard (app/domain/routing.py): a score below the product's threshold sends the
application to special review, an amount above the suggested limit to second-level review; an
unscored application is routed as if it failed them (like an unknown age)."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.routing import RoutingRules, evaluate
from tests.unit.test_routing import CLEAN, OFF, codes

D = Decimal


def test_off_by_default() -> None:
    assert RoutingRules().special_score_below is None
    assert RoutingRules().l2_over_suggested_limit is False
    assert codes(evaluate(OFF, replace(CLEAN, score=10, suggested_limit=D("1")))) == []


def test_score_below_threshold_goes_to_special_with_figures() -> None:
    rules = replace(OFF, special_score_below=60)
    assert codes(evaluate(rules, replace(CLEAN, score=60))) == []
    d = evaluate(rules, replace(CLEAN, score=59))
    assert d.needs_special and not d.needs_l2
    (reason,) = d.reasons
    assert (reason.code, reason.message % reason.params) == ("score_below", "Score 59 is below 60")
    d = evaluate(rules, replace(CLEAN, score=None))
    assert codes(d) == [("special", "score_unknown")]


def test_amount_over_suggested_limit_goes_to_l2() -> None:
    rules = replace(OFF, l2_over_suggested_limit=True)
    assert codes(evaluate(rules, replace(CLEAN, suggested_limit=D("20000.00")))) == []
    d = evaluate(rules, replace(CLEAN, suggested_limit=D("19999.99")))
    assert codes(d) == [("l2", "over_suggested_limit")] and d.needs_l2 and not d.needs_special
    assert d.reasons[0].params == {"amount": "20,000.00", "limit": "19,999.99"}
    assert codes(evaluate(rules, replace(CLEAN, suggested_limit=None))) == [("l2", "suggested_limit_unknown")]


def test_rules_round_trip() -> None:
    rules = RoutingRules(special_score_below=55, l2_over_suggested_limit=True)
    assert RoutingRules.from_dict(rules.to_dict()) == rules


@given(st.integers(-200, 200) | st.none(), st.integers(0, 200))
def test_special_iff_below(score, threshold) -> None:
    d = evaluate(replace(OFF, special_score_below=threshold), replace(CLEAN, score=score))
    assert d.needs_special == (score is None or score < threshold)


def test_a_negative_score_is_below_the_threshold_and_said_as_it_is() -> None:
    """A card's points may add up below 0 (the default card's lowest is −33): routing compares it as is."""
    rules = replace(OFF, special_score_below=60)
    d = evaluate(rules, replace(CLEAN, score=-33))
    assert codes(d) == [("special", "score_below")] and d.needs_special
    assert d.reasons[0].message % d.reasons[0].params == "Score -33 is below 60"
