"""Whole-village pre-credit's pure rules (app/domain/village.py) and the light path in the workflow."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import village as v
from app.domain.workflow import Actor, ApplicationFacts, Event, State, TransitionRefused, transition

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=timezone(timedelta(hours=8)))
TODAY = date(2026, 6, 15)
RULES = v.LightPathRules()
MIN, MAX = Decimal("1000"), Decimal("50000")


def test_rules_defaults_and_round_trip() -> None:
    assert v.LightPathRules.from_dict({}) == RULES
    custom = v.LightPathRules.from_dict({"min_score": 70, "excluded_ratings": ["poor", "fair"], "required_items": ["iou"]})
    assert v.LightPathRules.from_dict(custom.to_dict()) == custom
    assert custom.min_score == 70 and custom.excluded_ratings == ("poor", "fair")


@pytest.mark.parametrize("bad", [{"min_score": "60"}, {"min_score": True}, {"valid_days": 0}, {"excluded_ratings": ["bad"]},
                                 {"required_items": "iou"}, {"enabled": 1}, {"unknown": 1}])
def test_rules_refuse_bad_data(bad: dict) -> None:
    with pytest.raises(v.LightPathRulesError):
        v.LightPathRules.from_dict(bad)


def test_proposal_is_the_suggested_limit_capped_by_the_product() -> None:
    p = v.propose(RULES, score=75, rating="good", suggested_limit=Decimal("30000"), product_min=MIN, product_max=MAX)
    assert p.amount == Decimal("30000")
    p = v.propose(RULES, score=75, rating="good", suggested_limit=Decimal("80000"), product_min=MIN, product_max=MAX)
    assert p.amount == MAX


@pytest.mark.parametrize("score,rating,limit", [(59, "excellent", "30000"), (90, "poor", "30000"), (None, "good", None),
                                                (90, "good", "500")])
def test_no_proposal_below_cutoff_rated_poor_unscored_or_below_minimum(score, rating, limit) -> None:
    p = v.propose(RULES, score=score, rating=rating, suggested_limit=Decimal(limit) if limit else None,
                  product_min=MIN, product_max=MAX)
    assert p.amount is None and p.reason


def test_cutoff_and_excluded_ratings_are_data() -> None:
    rules = v.LightPathRules.from_dict({"min_score": 50, "excluded_ratings": []})
    assert v.propose(rules, score=55, rating="poor", suggested_limit=Decimal("5000"), product_min=MIN, product_max=MAX).amount == Decimal("5000")


def test_approved_limit_never_above_proposal_or_product_max() -> None:
    assert v.check_approved_limit(Decimal("20000"), proposed=Decimal("30000"), product_min=MIN, product_max=MAX) is None
    assert v.check_approved_limit(Decimal("30000"), proposed=Decimal("30000"), product_min=MIN, product_max=MAX) is None
    msg, params = v.check_approved_limit(Decimal("30000.01"), proposed=Decimal("30000"), product_min=MIN, product_max=MAX)
    assert msg == v.ABOVE_LIMIT and params["limit"] == "30,000.00"
    assert v.check_approved_limit(Decimal("60000"), proposed=Decimal("90000"), product_min=MIN, product_max=MAX)[0] == v.ABOVE_LIMIT
    assert v.check_approved_limit(Decimal("10"), proposed=Decimal("30000"), product_min=MIN, product_max=MAX) is not None


@given(amount=st.decimals(min_value=0, max_value=200000, places=2), proposed=st.decimals(min_value=0, max_value=200000, places=2))
def test_an_accepted_limit_is_within_proposal_and_product(amount: Decimal, proposed: Decimal) -> None:
    if v.check_approved_limit(amount, proposed=proposed, product_min=MIN, product_max=MAX) is None:
        assert MIN <= amount <= min(proposed, MAX)


def test_parse_limit() -> None:
    assert v.parse_limit("30,000.50") == Decimal("30000.50")
    assert v.parse_limit("abc") is None and v.parse_limit("1.234") is None and v.parse_limit("NaN") is None


def test_valid_until() -> None:
    assert v.check_valid_until(TODAY + timedelta(days=30), today=TODAY) is None
    assert v.check_valid_until(None, today=TODAY) is not None
    assert v.check_valid_until(TODAY - timedelta(days=1), today=TODAY) is not None


def _pa(**kw) -> v.PreApprovalFacts:
    base = dict(status="approved", approved_limit=Decimal("20000"), valid_until=TODAY + timedelta(days=10), product_id=1)
    base.update(kw)
    return v.PreApprovalFacts(**base)


def test_light_path_within_limit() -> None:
    d = v.light_path(RULES, _pa(), product_id=1, amount=Decimal("20000"), today=TODAY)
    assert d.light


@pytest.mark.parametrize("pa,amount", [
    (None, "1000"),
    (_pa(), "20000.01"),                                  # above the limit: normal path
    (_pa(valid_until=TODAY - timedelta(days=1)), "1000"),  # expired
    (_pa(status="used"), "1000"),
    (_pa(status="proposed"), "1000"),
    (_pa(product_id=2), "1000"),
])
def test_normal_path_otherwise(pa, amount) -> None:
    d = v.light_path(RULES, pa, product_id=1, amount=Decimal(amount), today=TODAY)
    assert not d.light and d.reason


def test_light_path_switched_off_by_the_rules() -> None:
    assert not v.light_path(v.LightPathRules(enabled=False), _pa(), product_id=1, amount=Decimal("1"), today=TODAY).light


def test_required_items_on_the_light_path() -> None:
    assert v.required_on_light_path(RULES, [("survey", 1), ("iou", 1), ("id_front", 1), ("house", 2)]) == {
        "survey": 0, "iou": 1, "id_front": 1, "house": 0}


def test_map_status_worst_first() -> None:
    assert v.map_status(preapproved=True, borrowing=True, days_past_due=3) == "late"
    assert v.map_status(preapproved=True, borrowing=True, days_past_due=0) == "borrowing"
    assert v.map_status(preapproved=True, borrowing=False, days_past_due=0) == "preapproved"
    assert v.map_status(preapproved=False, borrowing=False, days_past_due=0) == "surveyed"


DIRECTOR = Actor(user_id=7, roles=frozenset({"director"}), office_id=1)


def test_director_approval_of_a_light_path_application_goes_to_disbursement() -> None:
    facts = ApplicationFacts(state=State.AWAITING_DIRECTOR, officer_id=3, office_id=1, light_path=True)
    assert transition(facts, Event.DIRECTOR_APPROVE, DIRECTOR, NOW).to_state == State.AWAITING_DISBURSEMENT
    normal = ApplicationFacts(state=State.AWAITING_DIRECTOR, officer_id=3, office_id=1)
    assert transition(normal, Event.DIRECTOR_APPROVE, DIRECTOR, NOW).to_state == State.AWAITING_ENTRY


def test_light_path_keeps_segregation_and_scope() -> None:
    own = ApplicationFacts(state=State.AWAITING_DIRECTOR, officer_id=7, office_id=1, light_path=True)
    with pytest.raises(TransitionRefused) as e:
        transition(own, Event.DIRECTOR_APPROVE, Actor(7, frozenset({"director", "officer"}), 1), NOW)
    assert e.value.refusal.code == "segregation"
    other = ApplicationFacts(state=State.AWAITING_DIRECTOR, officer_id=3, office_id=2, light_path=True)
    with pytest.raises(TransitionRefused) as e:
        transition(other, Event.DIRECTOR_APPROVE, DIRECTOR, NOW)
    assert e.value.refusal.code == "scope"
