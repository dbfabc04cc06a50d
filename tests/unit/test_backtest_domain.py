"""The back-test's arithmetic (app/domain/backtest.py): Gini, KS, bands and the verdict."""
from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import backtest as bt

pairs_st = st.lists(st.tuples(st.integers(-50, 200), st.booleans()), min_size=0, max_size=200)
mixed_st = pairs_st.filter(lambda p: any(d for _, d in p) and not all(d for _, d in p))


def brute_gini(pairs):
    """Every good-bad pair compared: +1 good above, 0 tie, −1 bad above, averaged."""
    goods = [s for s, d in pairs if not d]
    bads = [s for s, d in pairs if d]
    total = sum((g > b) - (g < b) for g in goods for b in bads)
    return Fraction(total, len(goods) * len(bads))


def brute_ks(pairs):
    goods = [s for s, d in pairs if not d]
    bads = [s for s, d in pairs if d]
    return max(abs(Fraction(sum(b <= t for b in bads), len(bads)) - Fraction(sum(g <= t for g in goods), len(goods)))
               for t in {s for s, _ in pairs})


def test_perfect_ranking_gives_one_reversed_minus_one_constant_zero():
    perfect = [(80 + i, False) for i in range(40)] + [(10 + i, True) for i in range(40)]
    assert bt.evaluate(perfect).gini == 1
    assert bt.evaluate(perfect).ks == 1
    reversed_ = [(s, not d) for s, d in perfect]
    assert bt.evaluate(reversed_).gini == -1
    assert bt.evaluate(reversed_).ks == 1  # KS is a distance: the direction is the Gini's sign
    assert bt.evaluate(reversed_).verdict == "reversed"
    constant = [(60, i % 3 == 0) for i in range(300)]
    result = bt.evaluate(constant)
    assert result.gini == 0 and result.ks == 0
    assert result.verdict == "no_ranking"


def test_ties_count_half():
    # One good and one bad at the same score, one good above: AUC = (1 + ½) / 2.
    counts = bt._counts([(50, False), (50, True), (60, False)])
    assert bt.auc(counts) == Fraction(3, 4)
    assert bt.gini_of(counts) == Fraction(1, 2)


def test_higher_score_lower_risk_is_positive():
    pairs = [(90, False), (85, False), (40, True), (70, False), (45, True), (88, True)]
    assert bt.evaluate(pairs).gini > 0
    assert bt.evaluate(pairs).gini == brute_gini(pairs)


@settings(max_examples=200, deadline=None)
@given(mixed_st)
def test_gini_and_ks_bounded_and_equal_to_brute_force(pairs):
    result = bt.evaluate(pairs)
    assert -1 <= result.gini <= 1
    assert 0 <= result.ks <= 1
    assert result.gini == brute_gini(pairs)
    assert result.ks == brute_ks(pairs)
    assert result.gini_low <= bt.ratio(result.gini) <= result.gini_high


@settings(max_examples=200, deadline=None)
@given(mixed_st, st.integers(1, 7), st.integers(-1000, 1000))
def test_invariant_under_a_strictly_increasing_transform(pairs, scale, shift):
    moved = [(s * s * s * scale + shift, d) for s, d in pairs]  # x³ is strictly increasing
    a, b = bt.evaluate(pairs), bt.evaluate(moved)
    assert (a.gini, a.ks) == (b.gini, b.ks)


@settings(max_examples=100, deadline=None)
@given(mixed_st)
def test_reversing_the_scores_negates_the_gini(pairs):
    assert bt.evaluate([(-s, d) for s, d in pairs]).gini == -bt.evaluate(pairs).gini


@settings(max_examples=200, deadline=None)
@given(pairs_st, st.lists(st.integers(-60, 210), min_size=1, max_size=8, unique=True))
def test_band_counts_sum_to_the_loans(pairs, edges):
    edges = sorted(edges)
    rows = bt.band_table(pairs, edges)
    assert len(rows) == len(edges) + 1
    assert sum(r.loans for r in rows) == len(pairs)
    assert sum(r.defaults for r in rows) == sum(1 for _, d in pairs if d)
    if pairs:
        assert rows[-1].cum_loans == Decimal("100.00")
    for r in rows:
        assert 0 <= r.default_rate <= 100
        assert all(r.low is None or s >= r.low for s, _ in pairs if (r.high is None or s < r.high) and
                   (r.low is None or s >= r.low))
    # cumulative shares never go down
    assert all(a.cum_loans <= b.cum_loans and a.cum_defaults <= b.cum_defaults for a, b in zip(rows, rows[1:]))


def test_band_labels_and_rates():
    rows = bt.band_table([(49, True), (50, False), (59, True), (60, False), (95, False), (95, False)], (50, 60, 90))
    assert [r.label for r in rows] == ["<50", "50–59", "60–89", "≥90"]
    assert [(r.loans, r.defaults) for r in rows] == [(1, 1), (2, 1), (1, 0), (2, 0)]
    assert rows[1].default_rate == Decimal("50.00")
    assert rows[0].share == Decimal("16.67")  # 1/6 half-up
    assert rows[1].cum_defaults == Decimal("100.00")


@pytest.mark.parametrize("edges", [(), (60, 50), (50, 50), (50.5,)])
def test_bad_edges_refused(edges):
    with pytest.raises(bt.BandError):
        bt.bands_from_edges(edges)


def test_parse_edges():
    assert bt.parse_edges("40, 50,60") == (40, 50, 60)
    for bad in ("", "a,b", "60,50", "5;6"):
        with pytest.raises(bt.BandError):
            bt.parse_edges(bad)


def test_too_few_defaults_say_so():
    rnd = random.Random(1)
    pairs = [(rnd.randint(40, 100), False) for _ in range(500)] + [(30, True)] * (bt.MIN_DEFAULTS - 1)
    result = bt.evaluate(pairs)
    assert result.gini == 1  # perfect on paper…
    assert result.verdict == "insufficient"  # …but 29 defaults tell nothing
    assert result.params["min_defaults"] == bt.MIN_DEFAULTS and result.params["defaults"] == bt.MIN_DEFAULTS - 1


def test_no_default_at_all():
    result = bt.evaluate([(70, False)] * 100)
    assert result.gini is None and result.ks is None and result.verdict == "insufficient"
    assert result.bands[3].loans == 100


def test_random_scores_do_not_rank_and_informative_ones_do():
    rnd = random.Random(7)
    risk = [rnd.random() for _ in range(3000)]
    defaulted = [rnd.random() < 0.05 + 0.3 * r for r in risk]
    noise = bt.evaluate([(rnd.randint(0, 100), d) for d in defaulted])
    assert abs(noise.gini) < Fraction(1, 10)
    assert noise.verdict in ("no_ranking", "weak") and noise.verdict != "ranks"
    informed = bt.evaluate([(int(100 - 100 * r), d) for r, d in zip(risk, defaulted)])
    assert informed.gini > Fraction(3, 10) and informed.verdict == "ranks"
    assert informed.gini_low > 0


def test_ratio_rounds_half_up():
    assert bt.ratio(Fraction(1, 20000)) == Decimal("0.0001")
    assert bt.ratio(Fraction(-1, 3)) == Decimal("-0.3333")
    assert bt.percent(1, 8) == Decimal("12.50")
    assert bt.percent(0, 0) == Decimal("0.00")


def test_negative_scores_fall_in_the_lowest_band_and_rank_as_any_other() -> None:
    pairs = [(-33, True), (-5, True), (-5, False), (0, False), (49, True), (55, False), (95, False)]
    result = bt.evaluate(pairs)
    first = result.bands[0]
    assert (first.label, first.loans, first.defaults) == ("<50", 5, 3)
    assert sum(b.loans for b in result.bands) == len(pairs)
    shifted = bt.evaluate([(s + 100, d) for s, d in pairs])  # only the order counts
    assert (shifted.gini, shifted.ks) == (result.gini, result.ks)
    below = bt.evaluate(pairs, edges=(-10, 0, 50))
    assert [b.label for b in below.bands] == ["<−10", "−10–−1", "0–49", "≥50"]  # a true minus sign
    assert [b.loans for b in below.bands] == [1, 2, 2, 2]
