"""The days-past-due buckets, PAR and ageing (app.domain.portfolio): invariants over random books."""
from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from app.domain import portfolio as p

DAYS = st.integers(min_value=0, max_value=2_000)
LOANS = st.lists(st.tuples(st.integers(0, 5), DAYS, st.integers(1, 10**10)), max_size=60)  # (group, dpd, fen)


def _by_bucket(loans) -> dict[int, p.Amounts]:
    found: dict[int, p.Amounts] = defaultdict(p.Amounts)
    for _group, dpd, fen in loans:
        found[p.bucket_of(dpd)] = found[p.bucket_of(dpd)] + p.Amounts(1, fen)
    return found


@given(DAYS)
def test_a_loan_falls_in_the_one_bucket_that_holds_its_days(days):
    first, last = p.DPD_BUCKETS[p.bucket_of(days)]
    assert first <= days and (last is None or days <= last)


@given(DAYS, st.sampled_from(p.PAR_DAYS))
def test_parn_holds_exactly_the_loans_more_than_n_days_past_due(days, n):
    in_par = p.bucket_of(days) in p.par_buckets(n)
    assert in_par == (days > n if n > 1 else days >= 1)


def test_the_edges():
    assert p.bucket_of(30) not in p.par_buckets(30) and p.bucket_of(31) in p.par_buckets(30)
    assert p.bucket_of(7) not in p.par_buckets(7) and p.bucket_of(1) in p.par_buckets(1)
    assert p.bucket_of(0) not in p.par_buckets(1)


@given(LOANS)
def test_par_is_nested_and_ageing_adds_up_to_par1(loans):
    figures = p.par_and_ageing(_by_bucket(loans))
    chain = [figures[f"par{n}"] for n in p.PAR_DAYS]
    for wider, narrower in zip(chain, chain[1:]):
        assert wider.loans >= narrower.loans and wider.principal_fen >= narrower.principal_fen
    ageing = p.Amounts()
    for first, last in p.AGEING:
        ageing = ageing + figures[f"age_{first}_{last or ''}"]
    assert ageing == figures["par1"]
    current = sum(fen for _g, dpd, fen in loans if dpd == 0)
    assert figures["total"].principal_fen == figures["par1"].principal_fen + current
    assert figures["total"] == p.Amounts(len(loans), sum(fen for *_x, fen in loans))
    for n in p.PAR_DAYS:
        assert figures[f"par{n}"].principal_fen == sum(fen for _g, dpd, fen in loans if dpd >= p.par_threshold(n))


@given(LOANS)
def test_a_breakdown_adds_up_to_the_total(loans):
    groups: dict[int, list] = defaultdict(list)
    for loan in loans:
        groups[loan[0]].append(loan)
    whole = p.par_and_ageing(_by_bucket(loans))
    parts = [p.par_and_ageing(_by_bucket(members)) for members in groups.values()]
    for key, total in whole.items():
        summed = p.Amounts()
        for part in parts:
            summed = summed + part[key]
        assert summed == total, key
