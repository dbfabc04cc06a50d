"""Restructuring's pure rules (app/domain/restructure.py): limits, routing, what is carried over,
the new schedule (exact to the fen), the class floor."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import restructure as rs

FACTS = rs.LoanFacts(status="active", method="annuity", frequency="monthly", original_maturity=date(2027, 6, 1),
                     restructure_count=0, principal_owed=800_000, days_past_due=40)
RULES = rs.RestructureRules()


def _terms(**kw) -> rs.Terms:
    base = dict(kind="extension", reason="harvest_failure", note="冰雹", term_months=12, method="annuity",
                grace_months=0, capitalise=False)
    return rs.Terms(**(base | kw))


def test_rules_round_trip_and_refuse_nonsense():
    rules = rs.RestructureRules.from_dict({"max_count": "2", "l2_principal_over": "30000", "class_floor": "substandard"})
    assert rs.RestructureRules.from_dict(rules.to_dict()) == rules
    for bad in ({"max_count": "two"}, {"l2_principal_over": "abc"}, {"l2_principal_over": "-5"},
                {"class_floor": "bad"}, {"nonsense": 1}, {"floor_months": True}):
        with pytest.raises(rs.RestructureRulesError):
            rs.RestructureRules.from_dict(bad)


def test_limits_and_kinds():
    on = date(2026, 12, 1)
    assert rs.check_terms(_terms(), FACTS, RULES, effective_on=on, methods=("annuity", "bullet")) == {}
    assert "term_months" in rs.check_terms(_terms(term_months=30), FACTS, RULES, effective_on=on, methods=("annuity",))
    assert "method" in rs.check_terms(_terms(method="bullet"), FACTS, RULES, effective_on=on, methods=("annuity", "bullet"))
    assert "grace_months" in rs.check_terms(_terms(grace_months=2), FACTS, RULES, effective_on=on, methods=("annuity",))
    closed = rs.LoanFacts(**{**FACTS.__dict__, "status": "closed"})
    assert "kind" in rs.check_terms(_terms(), closed, RULES, effective_on=on, methods=("annuity",))
    twice = rs.LoanFacts(**{**FACTS.__dict__, "restructure_count": 1})
    assert "kind" in rs.check_terms(_terms(), twice, RULES, effective_on=on, methods=("annuity",))
    # An extension must end after the original maturity.
    assert "term_months" in rs.check_terms(_terms(term_months=3), FACTS, RULES, effective_on=on, methods=("annuity",))


def test_routing_follows_the_rules_with_reasons():
    assert rs.levels_needed(RULES, _terms(), FACTS) == []
    big = rs.LoanFacts(**{**FACTS.__dict__, "principal_owed": 6_000_000})
    assert [lv for lv, _m, _p in rs.levels_needed(RULES, _terms(), big)] == ["l2"]
    capitalise = _terms(kind="restructure", capitalise=True)
    assert [lv for lv, _m, _p in rs.levels_needed(RULES, capitalise, FACTS)] == ["special"]
    off = rs.RestructureRules.from_dict({"special_capitalise": False, "l2_principal_over": None, "l2_from_count": None})
    assert rs.levels_needed(off, capitalise, big) == []


def test_what_the_old_schedule_leaves_owed():
    old = [
        rs.OldInstallment(1, date(2026, 7, 1), date(2026, 6, 1), 100_00, 100_00, 10_00, 10_00, 0, 0, 0, True),
        rs.OldInstallment(2, date(2026, 8, 1), date(2026, 7, 1), 100_00, 40_00, 10_00, 0, 0, 3_00, 1_00, False),
        rs.OldInstallment(3, date(2026, 9, 1), date(2026, 8, 1), 100_00, 0, 31_00, 0, 0, 0, 0, False),
    ]
    owed = rs.carry(old, date(2026, 8, 11))  # 10 of the third period's 31 days
    assert owed.principal == 60_00 + 100_00
    assert owed.interest == 10_00 + 31_00 * 10 // 31
    assert owed.penalty == 2_00


@given(principal=st.integers(100_00, 5_000_000_00), term=st.integers(2, 60), grace=st.integers(0, 6),
       method=st.sampled_from(["annuity", "equal_principal", "interest_only", "flat"]))
def test_the_new_schedule_repays_exactly_the_principal(principal, term, grace, method):
    grace = min(grace, term - 1)
    lines = rs.new_schedule(Decimal(principal) / 100, annual_rate=Decimal("0.096"), term_months=term, grace_months=grace,
                            method=method, start=date(2026, 12, 2), frequency="monthly", day_count="act/360",
                            first_seq=13)
    assert sum(line.principal for line in lines) == Decimal(principal) / 100
    assert [line.seq for line in lines] == list(range(13, 13 + term))
    assert all(line.principal == 0 for line in lines[:grace])
    assert [line.due_date for line in lines] == sorted(line.due_date for line in lines)


def test_the_class_floor():
    assert rs.floor_class("normal", "special_mention") == "special_mention"
    assert rs.floor_class("doubtful", "special_mention") == "doubtful"
    assert rs.floor_class("normal", None) == "normal"
