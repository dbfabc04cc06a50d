from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.routing import (
    RoutingDecision,
    RoutingFacts,
    RoutingRules,
    RulesError,
    evaluate,
)

D = Decimal

OFF = RoutingRules(
    special_related_party=False,
    special_duplicate_id=False,
    special_gps_required=False,
    special_officer_not_on_site=False,
)

CLEAN = RoutingFacts(
    amount=D("20000.00"),
    term_months=12,
    borrower_age=40,
    related_party=False,
    duplicate_id_in_flight=False,
    home_gps_present=True,
    officer_on_site=True,
    outstanding_exposure=D("0.00"),
    worst_past_dpd=None,
    household_active_loans=0,
)


def codes(decision: RoutingDecision) -> list[tuple[str, str]]:
    return [(r.level, r.code) for r in decision.reasons]


def test_clean_application_with_default_rules_needs_nothing() -> None:
    decision = evaluate(RoutingRules(), CLEAN)
    assert decision == RoutingDecision(False, False, ())


@pytest.mark.parametrize(
    ("rules", "facts", "expected"),
    [
        # amount: strictly greater
        (dict(l2_amount_over=D("30000")), dict(amount=D("30000.00")), []),
        (dict(l2_amount_over=D("30000")), dict(amount=D("30000.01")), [("l2", "amount_over")]),
        # term: strictly greater
        (dict(l2_term_over_months=12), dict(term_months=12), []),
        (dict(l2_term_over_months=12), dict(term_months=13), [("l2", "term_over")]),
        # age band
        (dict(special_age_min=18, special_age_max=65), dict(borrower_age=18), []),
        (dict(special_age_min=18, special_age_max=65), dict(borrower_age=65), []),
        (dict(special_age_min=18), dict(borrower_age=17), [("special", "age_below")]),
        (dict(special_age_max=65), dict(borrower_age=66), [("special", "age_above")]),
        (dict(special_age_max=65), dict(borrower_age=None), [("special", "age_unknown")]),
        (dict(), dict(borrower_age=None), []),
        # yes/no rules
        (dict(special_related_party=True), dict(related_party=True),
         [("special", "related_party")]),
        (dict(), dict(related_party=True), []),
        (dict(special_duplicate_id=True), dict(duplicate_id_in_flight=True),
         [("special", "duplicate_id")]),
        (dict(special_gps_required=True), dict(home_gps_present=False),
         [("special", "gps_missing")]),
        (dict(special_officer_not_on_site=True), dict(officer_on_site=False),
         [("special", "officer_not_on_site")]),
        (dict(special_officer_not_on_site=True), dict(officer_on_site=None),
         [("special", "officer_on_site_unknown")]),
        (dict(special_officer_not_on_site=True), dict(officer_on_site=True), []),
        # exposure: outstanding + this amount, strictly greater
        (dict(special_exposure_over=D("50000")),
         dict(amount=D("20000"), outstanding_exposure=D("30000")), []),
        (dict(special_exposure_over=D("50000")),
         dict(amount=D("20000"), outstanding_exposure=D("30000.01")),
         [("special", "exposure_over")]),
        # past arrears: worst DPD at or above
        (dict(special_past_arrears_days=30), dict(worst_past_dpd=29), []),
        (dict(special_past_arrears_days=30), dict(worst_past_dpd=30),
         [("special", "past_arrears")]),
        (dict(special_past_arrears_days=0), dict(worst_past_dpd=None), []),
        # household: more active loans than the limit
        (dict(max_active_loans_per_household=2), dict(household_active_loans=2), []),
        (dict(max_active_loans_per_household=2), dict(household_active_loans=3),
         [("special", "household_loans")]),
        # several at once, in a fixed order, L2 first
        (dict(l2_amount_over=D("10000"), special_gps_required=True, l2_term_over_months=6),
         dict(amount=D("20000"), term_months=12, home_gps_present=False),
         [("l2", "amount_over"), ("l2", "term_over"), ("special", "gps_missing")]),
    ],
)
def test_rule_table(rules: dict[str, Any], facts: dict[str, Any],
                    expected: list[tuple[str, str]]) -> None:
    decision = evaluate(replace(OFF, **rules), replace(CLEAN, **facts))
    assert codes(decision) == expected
    assert decision.needs_l2 == any(level == "l2" for level, _ in expected)
    assert decision.needs_special == any(level == "special" for level, _ in expected)


def test_reason_messages_and_params() -> None:
    rules = replace(OFF, l2_amount_over=D("30000"), special_age_max=65,
                    special_exposure_over=D("50000"))
    facts = replace(CLEAN, amount=D("35000"), borrower_age=70,
                    outstanding_exposure=D("1234567.5"))
    by_code = {r.code: r for r in evaluate(rules, facts).reasons}
    amount = by_code["amount_over"]
    assert amount.params == {"amount": "35,000.00", "limit": "30,000.00"}
    assert amount.message % amount.params == (
        "Amount 35,000.00 exceeds the second-level threshold 30,000.00")
    age = by_code["age_above"]
    assert age.message % age.params == "Borrower is 70, above the age limit 65"
    assert by_code["exposure_over"].params == {"exposure": "1,269,567.50", "limit": "50,000.00"}
    for reason in by_code.values():
        assert all(isinstance(v, str) for v in reason.params.values())
        reason.message % reason.params  # every placeholder has a param


def test_gps_message() -> None:
    rules = replace(OFF, special_gps_required=True)
    [reason] = evaluate(rules, replace(CLEAN, home_gps_present=False)).reasons
    assert reason.message == "Home GPS position missing"
    assert reason.level == "special"


# --- rules from JSON --------------------------------------------------------------

FULL = {
    "l2_amount_over": "30000.00",
    "l2_term_over_months": 12,
    "special_age_min": 18,
    "special_age_max": 65,
    "special_related_party": True,
    "special_duplicate_id": False,
    "special_gps_required": True,
    "special_officer_not_on_site": False,
    "special_exposure_over": "100000",
    "special_past_arrears_days": 30,
    "max_active_loans_per_household": 2,
}


def test_from_dict() -> None:
    rules = RoutingRules.from_dict(FULL)
    assert rules.l2_amount_over == D("30000.00")
    assert rules.special_exposure_over == D("100000")
    assert rules.special_duplicate_id is False
    assert RoutingRules.from_dict({}) == RoutingRules()
    assert RoutingRules.from_dict({"l2_amount_over": 30000}).l2_amount_over == D("30000")


def test_to_dict_round_trip_through_json() -> None:
    rules = RoutingRules.from_dict(FULL)
    again = RoutingRules.from_dict(json.loads(json.dumps(rules.to_dict())))
    assert again == rules
    assert rules.to_dict()["l2_amount_over"] == "30000.00"
    assert RoutingRules().to_dict()["l2_amount_over"] is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"l2_amount_over": 30000.5}, "written as text"),
        ({"l2_amount_over": True}, "written as text"),
        ({"l2_amount_over": "lots"}, "must be an amount"),
        ({"l2_amount_over": "NaN"}, "must be an amount"),
        ({"l2_amount_over": "-1"}, "cannot be negative"),
        ({"special_exposure_over": "1.005"}, "2 decimal places"),
        ({"l2_term_over_months": "12"}, "whole number"),
        ({"l2_term_over_months": 12.0}, "whole number"),
        ({"special_age_min": True}, "whole number"),
        ({"special_past_arrears_days": -1}, "cannot be negative"),
        ({"max_active_loans_per_household": -2}, "cannot be negative"),
        ({"special_gps_required": "yes"}, "true or false"),
        ({"special_gps_required": None}, "true or false"),
        ({"special_age_min": 70, "special_age_max": 60}, "minimum age"),
        ({"special_age_max": 121}, "cannot be above"),
        ({"special_age_min": 200}, "cannot be above"),
        ({"l2_amount_ovr": "1"}, "Unknown routing rule"),
    ],
)
def test_from_dict_validation(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RulesError) as exc:
        RoutingRules.from_dict(data)
    assert fragment in exc.value.message
    assert str(exc.value)


def test_age_limit_above_120_names_the_field_and_the_limit() -> None:
    with pytest.raises(RulesError) as exc:
        RoutingRules(special_age_max=121)
    assert str(exc.value) == "special_age_max cannot be above 120 years"


def test_age_limits_accept_the_whole_range() -> None:
    rules = RoutingRules.from_dict({"special_age_min": 0, "special_age_max": 120})
    assert (rules.special_age_min, rules.special_age_max) == (0, 120)
    assert RoutingRules(special_age_min=18, special_age_max=18).special_age_max == 18


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(RulesError):
        RoutingRules.from_dict(["l2_amount_over"])  # type: ignore[arg-type]


def test_constructor_validates_too() -> None:
    with pytest.raises(RulesError):
        RoutingRules(l2_amount_over=30000.0)  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------

money = st.integers(0, 10**9).map(lambda fen: D(fen) / 100)
opt_money = st.none() | money
opt_small = st.none() | st.integers(0, 120)


@st.composite
def rules_strategy(draw: st.DrawFn) -> RoutingRules:
    age_a, age_b = draw(opt_small), draw(opt_small)
    if age_a is not None and age_b is not None and age_a > age_b:
        age_a, age_b = age_b, age_a
    return RoutingRules(
        l2_amount_over=draw(opt_money),
        l2_term_over_months=draw(opt_small),
        special_age_min=age_a,
        special_age_max=age_b,
        special_related_party=draw(st.booleans()),
        special_duplicate_id=draw(st.booleans()),
        special_gps_required=draw(st.booleans()),
        special_officer_not_on_site=draw(st.booleans()),
        special_exposure_over=draw(opt_money),
        special_past_arrears_days=draw(opt_small),
        max_active_loans_per_household=draw(st.none() | st.integers(0, 5)),
    )


facts_strategy = st.builds(
    RoutingFacts,
    amount=money,
    term_months=st.integers(1, 120),
    borrower_age=st.none() | st.integers(0, 120),
    related_party=st.booleans(),
    duplicate_id_in_flight=st.booleans(),
    home_gps_present=st.booleans(),
    officer_on_site=st.none() | st.booleans(),
    outstanding_exposure=money,
    worst_past_dpd=st.none() | st.integers(0, 400),
    household_active_loans=st.integers(0, 8),
)


@settings(max_examples=100)
@given(rules_strategy(), facts_strategy)
def test_flags_match_reasons_and_evaluation_is_deterministic(
    rules: RoutingRules, facts: RoutingFacts
) -> None:
    decision = evaluate(rules, facts)
    assert decision.needs_l2 == any(r.level == "l2" for r in decision.reasons)
    assert decision.needs_special == any(r.level == "special" for r in decision.reasons)
    assert {r.level for r in decision.reasons} <= {"l2", "special"}
    assert len({r.code for r in decision.reasons}) == len(decision.reasons)
    for reason in decision.reasons:
        assert reason.message % dict(reason.params)
    assert evaluate(rules, facts) == decision
    assert RoutingRules.from_dict(rules.to_dict()) == rules


@settings(max_examples=100)
@given(facts_strategy)
def test_all_rules_off_never_routes(facts: RoutingFacts) -> None:
    assert evaluate(OFF, facts) == RoutingDecision(False, False, ())


@settings(max_examples=100)
@given(rules_strategy(), facts_strategy, money)
def test_raising_the_amount_never_removes_l2(
    rules: RoutingRules, facts: RoutingFacts, extra: Decimal
) -> None:
    before = evaluate(rules, facts)
    after = evaluate(rules, replace(facts, amount=facts.amount + extra))
    if before.needs_l2:
        assert after.needs_l2
    # Exposure is monotone in the amount too, so special review can't disappear either.
    if before.needs_special:
        assert after.needs_special
