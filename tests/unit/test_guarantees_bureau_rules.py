"""The guarantor rules (limit, arrears) and the bureau report extractor, pure."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from app.domain import bureau
from app.domain.guarantees import (GuarantorFacts, GuarantorRules, GuarantorRulesError, check_guarantee,
                                   in_arrears, standing)
from tests.support.bureau_report import report_text

LIMIT = GuarantorRules.from_dict({"limit": "100000", "arrears": "refuse", "consent_photo": True})


def test_empty_rules_are_todays_behaviour():
    rules = GuarantorRules.from_dict({})
    assert (rules.required, rules.consent_photo, rules.limit, rules.arrears) == (False, False, None, "flag")
    assert check_guarantee(rules, GuarantorFacts(Decimal("10000000"), worst_dpd=400, active_loans=1),
                           Decimal("50000")) == []


def test_rules_round_trip_and_refuse_nonsense():
    assert GuarantorRules.from_dict(LIMIT.to_dict()) == LIMIT
    for bad in ({"limit": "-1"}, {"limit": "abc"}, {"limit": "1.001"}, {"arrears": "maybe"}, {"required": "yes"},
                {"arrears_days": 0}, {"arrears_days": True}, {"colour": 1}):
        with pytest.raises(GuarantorRulesError):
            GuarantorRules.from_dict(bad)


def test_over_the_limit_is_refused_with_the_figures():
    problems = check_guarantee(LIMIT, GuarantorFacts(Decimal("80000")), Decimal("30000"))
    assert len(problems) == 1
    message, params = problems[0]
    assert params == {"guaranteed": "80,000.00", "amount": "30,000.00", "total": "110,000.00", "limit": "100,000.00"}
    # Exactly at the limit is allowed.
    assert check_guarantee(LIMIT, GuarantorFacts(Decimal("70000")), Decimal("30000")) == []


def test_arrears_flagged_or_refused():
    late = GuarantorFacts(Decimal("0"), outstanding=Decimal("5000"), worst_dpd=12, active_loans=1)
    assert in_arrears(LIMIT, late)
    assert [p[1] for p in check_guarantee(LIMIT, late, Decimal("1000"))] == [{"days": 12}]
    flag = GuarantorRules.from_dict({"arrears": "flag"})
    assert standing(flag, late, Decimal("1000")).in_arrears and check_guarantee(flag, late, Decimal("1000")) == []
    # Days past due on no active loan (all repaid) is no arrears; below the rule's days neither.
    assert not in_arrears(LIMIT, GuarantorFacts(Decimal("0"), worst_dpd=40, active_loans=0))
    assert not in_arrears(GuarantorRules.from_dict({"arrears_days": 31}), GuarantorFacts(Decimal(0), worst_dpd=30,
                                                                                         active_loans=1))


@given(st.integers(0, 10**7), st.integers(1, 10**7), st.integers(1, 10**7))
def test_refused_exactly_when_the_total_passes_the_limit(guaranteed, amount, limit):
    rules = GuarantorRules.from_dict({"limit": str(limit)})
    refused = bool(check_guarantee(rules, GuarantorFacts(Decimal(guaranteed)), Decimal(amount)))
    assert refused == (guaranteed + amount > limit)


def test_extracts_the_sample_reports_figures():
    figures = bureau.extract(report_text(open_loans=3, overdue_count=0, overdue_months=0, worst="次级",
                                         balance=Decimal("123456.78")))
    assert figures.to_dict() == {"report_no": "2026112000001234567", "open_loans": 3, "overdue_count": 0,
                                 "overdue_months": 0, "worst_class": "次级", "total_balance": "123456.78"}


def test_full_width_and_value_on_the_next_line():
    text = "未结清贷款账户数\n２\n当前逾期账户数：　１\n五级分类\n损失\n贷款余额：８,０００元"
    f = bureau.extract(text)
    assert (f.open_loans, f.overdue_count, f.worst_class, f.total_balance) == (2, 1, "损失", Decimal("8000"))


def test_nothing_known_is_nothing_guessed():
    f = bureau.extract("本报告无信贷交易记录。查询日期 2026-11-20 共 3 页")
    assert f.empty and f.to_dict() == {}


@given(st.text(max_size=300))
def test_extract_is_total(text):
    bureau.extract(text).to_dict()
