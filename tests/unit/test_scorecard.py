"""The points scorecard and the suggested limit (app/domain/scorecard.py): validation with every
problem named, exact derived facts, score = base + contributions, every value in one bin, the
limit within [0, product max] on the step."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import scorecard as sc
from app.domain.survey import DEFAULT_SURVEY

D = Decimal
DEFAULT = sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)

ANSWERS = {
    "members": "5", "labourers": "3", "land_mu": "12.5", "livestock_heads": "4",
    "crop_income": "30000.00", "wage_income": "20000.00", "living_expenses": "15000.00",
    "production_expenses": "8000.00", "house_type": "brick_concrete", "has_vehicle": True,
    "formal_debt": "10000.00", "informal_debt": "0", "yearly_debt_service": "6000.00",
    "years_in_village": "20", "committee_rating": "good", "main_crops": "玉米",
}


def problems(d: dict) -> list[str]:
    with pytest.raises(sc.ScorecardError) as e:
        sc.Scorecard.from_dict(d)
    return [sc.problem_text(m, p, lambda s: s) for m, p in e.value.problems]


def test_derive_facts_exact() -> None:
    f = sc.derive_facts(ANSWERS, age=42)
    assert f["annual_income"] == D("50000.00")
    assert f["annual_expenses"] == D("23000.00")
    assert f["net_income"] == D("27000.00")
    assert f["total_debt"] == D("10000.00")
    assert f["debt_service"] == D("6000.00")
    assert f["labour_ratio"] == D("0.6000")
    assert f["debt_ratio"] == D("0.2000")
    assert f["age"] == 42
    assert f["house_type"] == "brick_concrete"  # answers pass through


def test_derive_facts_unknowns() -> None:
    f = sc.derive_facts({}, age=None)
    assert f["age"] is None and f["annual_income"] is None and f["net_income"] is None
    assert f["labour_ratio"] is None and f["debt_service"] is None
    assert f["debt_ratio"] == 0  # no debt
    f = sc.derive_facts({"formal_debt": "100", "members": "0", "labourers": "1"}, age=30)
    assert f["debt_ratio"] is None and f["labour_ratio"] is None


def test_default_scores_the_example_household() -> None:
    r = sc.score(DEFAULT, sc.derive_facts(ANSWERS, age=42))
    assert r.score == DEFAULT.base + sum(c.points for c in r.contributions)
    by = {c.factor: c for c in r.contributions}
    assert by["age"].points == 10 and by["age"].value == "42"
    assert by["committee_rating"].reason == "村委评议：较好"
    assert by["has_vehicle"].value is True and by["has_vehicle"].points == 2
    detail = r.to_detail()
    assert detail["score"] == r.score and len(detail["contributions"]) == len(DEFAULT.factors)
    import json
    json.dumps(detail)


def test_missing_and_other_bins() -> None:
    r = sc.score(DEFAULT, sc.derive_facts({"committee_rating": "unheard_of"}, age=None))
    by = {c.factor: c for c in r.contributions}
    assert by["committee_rating"].reason == "村委评议结果不明"
    assert by["age"].reason == "年龄未知"
    assert by["net_income"].points == -10


def test_yesno_true_is_not_the_number_one() -> None:
    f = DEFAULT.factors[[x.key for x in DEFAULT.factors].index("has_vehicle")]
    assert f.bin_for(True).reason == "有农用车"
    assert f.bin_for(1) is f.missing
    assert f.bin_for("true") is f.other


def test_bin_edges_are_half_open() -> None:
    age = DEFAULT.factors[0]
    assert age.bin_for(29).reason.startswith("22-29")
    assert age.bin_for(30).reason.startswith("30-50")
    assert age.bin_for("50.999").reason.startswith("30-50")


def test_every_problem_at_once() -> None:
    bad = copy.deepcopy(sc.DEFAULT_SCORECARD)
    bad["factors"][0]["bins"][1]["min"] = "23"  # gap 22..23
    bad["factors"][1]["bins"][2]["min"] = "9000"  # overlap
    bad["factors"][2]["fact"] = "shoe_size"
    bad["factors"][6]["bins"][1]["values"] = ["excellent"]
    bad["factors"][3]["bins"][0]["points"] = 1.5
    bad["factors"][4]["bins"][0]["reason"] = " "
    bad["limit"]["step"] = "0"
    texts = problems(bad)
    assert "Factor 年龄: gap between 22 and 23 (bins 1 and 2)" in texts
    assert "Factor 家庭年纯收入: bins 2 and 3 overlap between 9000 and 10000" in texts
    assert any("shoe_size is not a survey question" in t for t in texts)
    assert "Factor 村委评议, bin 2: the value excellent is already in bin 1" in texts
    assert "Factor 耕种土地, bin 1: points must be a whole number" in texts
    assert "Factor 牲畜, bin 1: reason is required" in texts
    assert "Rounding step must be above 0" in texts
    assert len(texts) == 7


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["factors"][0]["bins"][0].update(min="0"), "the first bin must have no lower"),
        (lambda d: d["factors"][0]["bins"][-1].update(max="99"), "the last bin must have no upper"),
        (lambda d: d["factors"][0]["bins"][1].update(min="40", max="30"), "is not below"),
        (lambda d: d["factors"][0].update(type="values"), "its bins must be ranges"),
        (lambda d: d["factors"][6].update(type="range"), "its bins must list values"),
        (lambda d: d["factors"][9]["bins"][0].update(values=["yes"]), "is not a possible answer"),
        (lambda d: d["factors"][1].update(key="age"), "is used twice"),
        (lambda d: d["factors"][0]["bins"][1].update(min=22.0), "not a number written as text"),
        (lambda d: d["limit"]["grades"][1].update(min_score=90), "highest lowest score down"),
        (lambda d: d["limit"].update(repayment_share="1.2"), "cannot be above 1"),
        (lambda d: d.update(factors=[]), "at least one factor"),
        (lambda d: d.update(colour="red"), "Unknown scorecard field colour"),
    ],
)
def test_refusals(change, expected) -> None:
    bad = copy.deepcopy(sc.DEFAULT_SCORECARD)
    change(bad)
    assert any(expected in t for t in problems(bad)), problems(bad)


def test_fact_kinds_from_survey() -> None:
    definition = {"sections": [{"key": "s", "title": "t", "questions": [
        {"key": "goats", "label": "羊", "type": "number"},
        {"key": "notes", "label": "备注", "type": "text"},
        {"key": "roof", "label": "屋顶", "type": "choice", "options": []}]}]}
    kinds = sc.fact_kinds_from_survey(definition)
    assert kinds["goats"] == "number" and kinds["roof"] == "choice" and "notes" not in kinds
    assert kinds["net_income"] == "number"
    d = copy.deepcopy(sc.DEFAULT_SCORECARD)
    with pytest.raises(sc.ScorecardError):  # land_mu is not in this survey
        sc.Scorecard.from_dict(d, fact_kinds=kinds)


def test_limit_example() -> None:
    facts = sc.derive_facts(ANSWERS, age=42)
    lim = sc.suggested_limit(DEFAULT, facts, D("100000"))
    # (27,000 − 6,000) × 0.7 × 1 = 14,700 → 14,000; 1.5 × 27,000 = 40,500; grade cap bigger
    assert lim.amount == D("14000.00")
    codes = [r.code for r in lim.reasons]
    assert codes[0] == "product_max" and "capacity" in codes and codes[-1] == "rounded"
    assert lim.to_detail()["amount"] == "14000.00"


def test_limit_below_the_grades_and_without_income() -> None:
    poor = dict(ANSWERS, committee_rating="poor", years_in_village="1", crop_income="1000",
                wage_income="0", formal_debt="90000")
    facts = sc.derive_facts(poor, age=70)
    r = sc.score(DEFAULT, facts)
    assert r.score < 60
    lim = sc.suggested_limit(DEFAULT, facts, D("100000"), result=r)
    assert lim.amount == 0 and lim.grade is None and lim.reasons[-1].code == "below_grades"
    card = sc.Scorecard.from_dict({**sc.DEFAULT_SCORECARD, "limit": {
        "income_multiple": "1", "step": "500"}})
    lim = sc.suggested_limit(card, sc.derive_facts({}, age=40), D("100000"))
    assert lim.amount == 0 and lim.reasons[-1].code == "income_unknown"


# --- invariants ----------------------------------------------------------------------------------

decimals = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False)
answer_values = st.one_of(
    st.none(), decimals.map(str), st.booleans(), st.sampled_from(
        ["excellent", "good", "fair", "poor", "earth", "brick_wood", "brick_concrete", "x", ""]
    ), st.integers(-5, 200),
)
answers = st.dictionaries(st.sampled_from(sorted(sc.DEFAULT_FACT_KINDS)), answer_values)


@st.composite
def range_bins(draw):
    cuts = sorted(set(draw(st.lists(decimals, min_size=0, max_size=6))))
    edges = [None, *cuts, None]
    return [
        {"min": None if lo is None else str(lo), "max": None if hi is None else str(hi),
         "points": draw(st.integers(-50, 50)), "reason": f"r{i}"}
        for i, (lo, hi) in enumerate(zip(edges, edges[1:]))
    ]


@st.composite
def cards(draw):
    factors = []
    numeric = sorted(k for k, v in sc.DEFAULT_FACT_KINDS.items() if v == "number")
    for i in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            factors.append({"key": f"f{i}", "label": f"因素{i}", "fact": draw(st.sampled_from(numeric)),
                            "type": "range", "bins": draw(range_bins()),
                            "missing": {"points": draw(st.integers(-50, 50)), "reason": "缺"}})
        else:
            vals = draw(st.lists(st.sampled_from(["excellent", "good", "fair", "poor"]),
                                 min_size=1, max_size=4, unique=True))
            factors.append({"key": f"f{i}", "label": f"因素{i}", "fact": "committee_rating",
                            "type": "values",
                            "bins": [{"values": [v], "points": draw(st.integers(-50, 50)),
                                      "reason": v} for v in vals],
                            "other": {"points": 1, "reason": "其他"},
                            "missing": {"points": 0, "reason": "缺"}})
    grades = sorted(set(draw(st.lists(st.integers(-100, 200), max_size=3))), reverse=True)
    limit = {
        "grades": [{"min_score": g, "label": f"等级{g}",
                    "max_amount": draw(st.none() | st.integers(0, 300000).map(str))}
                   for g in grades],
        "income_multiple": draw(st.none() | st.sampled_from(["0.5", "1", "2.5"])),
        "repayment_share": draw(st.none() | st.sampled_from(["0.3", "0.7", "1"])),
        "capacity_years": draw(st.sampled_from(["1", "2", "0.5"])),
        "step": draw(st.sampled_from(["1", "100", "1000", "0.5", "333"])),
    }
    return {"base": draw(st.integers(-100, 100)), "factors": factors, "limit": limit}


@settings(max_examples=200, deadline=None)
@given(cards(), answers, st.none() | st.integers(0, 120),
       st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False))
def test_invariants(d, ans, age, product_max) -> None:
    card = sc.Scorecard.from_dict(d)
    assert sc.Scorecard.from_dict(card.to_dict()) == card
    facts = sc.derive_facts(ans, age=age)
    r = sc.score(card, facts)
    assert r.score == card.base + sum(c.points for c in r.contributions)
    lowest, highest = sc.score_range(card)  # the range the editor shows
    assert lowest <= r.score <= highest
    for f in card.factors:
        value = facts.get(f.fact)
        landed = [b for b in (*f.bins, f.missing, *([f.other] if f.other else [])) if _holds(f, b, value)]
        assert len(landed) == 1, (f, value, landed)
        assert f.bin_for(value) is landed[0]
    lim = sc.suggested_limit(card, facts, product_max, result=r)
    assert D(0) <= lim.amount <= product_max
    assert lim.amount % card.limit.step == 0


def _holds(f: sc.Factor, b: sc.Bin, value: object) -> bool:
    """Does ``value`` belong to bin ``b``, judged independently of bin_for."""
    number = sc._num(value)
    if f.type == "range":
        if b is f.missing:
            return number is None
        if number is None:
            return False
        return (b.low is None or number >= b.low) and (b.high is None or number < b.high)
    usable = isinstance(value, (str, bool)) and not (isinstance(value, str) and not value.strip())
    listed = usable and any(type(v) is type(value) and v == value for x in f.bins for v in x.values)
    if b is f.missing:
        return not usable
    if b is f.other:
        return usable and not listed
    return usable and any(type(v) is type(value) and v == value for v in b.values)


@settings(max_examples=100, deadline=None)
@given(answers, st.none() | st.integers(0, 120))
def test_default_card_any_answers(ans, age) -> None:
    facts = sc.derive_facts(ans, age=age)
    r = sc.score(DEFAULT, facts)
    assert r.score == DEFAULT.base + sum(c.points for c in r.contributions)
    lim = sc.suggested_limit(DEFAULT, facts, D("50000.00"))
    assert 0 <= lim.amount <= D("50000") and lim.amount % 1000 == 0


# --- a survey change the scorecard feels ----------------------------------------------------------

_SURVEY_KEYS = sorted(q.key for q in DEFAULT_SURVEY.questions())


@given(st.sets(st.sampled_from(_SURVEY_KEYS)))
@settings(max_examples=150, deadline=None)
def test_removing_questions_names_exactly_the_factors_that_read_them(removed):
    card = sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)
    after = DEFAULT_SURVEY.to_dict()
    for section in after["sections"]:
        section["questions"] = [q for q in section["questions"] if q["key"] not in removed]
    impacts = sc.survey_change_impact(card, DEFAULT_SURVEY.to_dict(), after)
    expected = {(f.key, key) for f in card.factors
                for key in (sc.DERIVED_INPUTS.get(f.fact, (f.fact,))) if key in removed}
    assert {(i.factor, i.question) for i in impacts} == expected
    assert all(i.code in ("removed", "removed_input") for i in impacts)
    for i in impacts:  # the points the factor will take are named
        factor = next(f for f in card.factors if f.key == i.factor)
        assert i.params["points"] == factor.missing.points
        assert (i.message % dict(i.params)).count(i.question) >= 1


def test_an_unchanged_survey_and_a_relabelled_one_change_no_factor():
    card = sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)
    assert sc.survey_change_impact(card, DEFAULT_SURVEY.to_dict(), DEFAULT_SURVEY.to_dict()) == []
    assert sc.survey_change_impact(card, None, DEFAULT_SURVEY.to_dict()) == []
    relabelled = DEFAULT_SURVEY.to_dict()
    for section in relabelled["sections"]:
        section["title"] += "（新）"
        for q in section["questions"]:
            q["label"] += "（新）"
            q["required"] = not q.get("required")
            for o in q.get("options", ()):
                o["label"] += "（新）"
    assert sc.survey_change_impact(card, DEFAULT_SURVEY.to_dict(), relabelled) == []
    money_to_number = copy.deepcopy(DEFAULT_SURVEY.to_dict())
    q = next(q for s in money_to_number["sections"] for q in s["questions"] if q["key"] == "crop_income")
    q["type"] = "number"  # both are numbers: the range bins still read it
    assert sc.survey_change_impact(card, DEFAULT_SURVEY.to_dict(), money_to_number) == []


# --- the range of possible scores, below 0 too ----------------------------------------------------

def _value_in(f: sc.Factor, b: sc.Bin) -> object:
    """A fact value that lands in bin ``b`` of factor ``f``."""
    if b is f.missing:
        return None
    if b is f.other:
        return "listed_nowhere"
    if f.type == "values":
        return b.values[0]
    if b.low is not None:
        return str(b.low)
    return str(b.high - 1) if b.high is not None else "0"


@settings(max_examples=200, deadline=None)
@given(cards(), st.booleans())
def test_the_range_is_reached_at_both_ends(d, lowest_end) -> None:
    """Each end of the shown range is a score some answers give (factors reading distinct facts)."""
    card = sc.Scorecard.from_dict(d)
    seen: set[str] = set()
    factors = [f for f in card.factors if not (f.fact in seen or seen.add(f.fact))]
    card = sc.Scorecard(card.base, tuple(factors), card.limit)
    pick = min if lowest_end else max
    facts = {}
    for f in card.factors:
        bins = (*f.bins, f.missing, *((f.other,) if f.other is not None else ()))
        facts[f.fact] = _value_in(f, pick(bins, key=lambda b: b.points))
    r = sc.score(card, facts)
    assert r.score == sc.score_range(card)[0 if lowest_end else 1]
    assert r.score == card.base + sum(c.points for c in r.contributions)


def test_the_default_cards_scores_run_below_zero_and_its_grades_are_reachable() -> None:
    assert sc.score_range(DEFAULT) == (-33, 100)
    assert sc.unreachable_grades(DEFAULT) == []
    worst = sc.derive_facts({"crop_income": "1000", "living_expenses": "9000", "formal_debt": "90000",
                             "years_in_village": "1", "committee_rating": "poor"}, age=70)
    r = sc.score(DEFAULT, worst)
    assert r.score < 0 and r.score == DEFAULT.base + sum(c.points for c in r.contributions)
    lim = sc.suggested_limit(DEFAULT, worst, D("50000"), result=r)
    assert lim.amount == 0 and lim.reasons[-1].code == "below_grades"
    high = copy.deepcopy(sc.DEFAULT_SCORECARD)
    high["limit"]["grades"][0]["min_score"] = 101
    assert [g.label for g in sc.unreachable_grades(sc.Scorecard.from_dict(high))] == ["优秀"]
