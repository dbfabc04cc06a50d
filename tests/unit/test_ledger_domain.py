"""The books' pure rules: an entry balances, amounts are whole fen on one side, nets and targets exact."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import ledger as books
from app.domain.ledger import Line


def test_a_balanced_entry_gives_its_total():
    assert books.check_balanced([Line("1001", debit=150), Line("1303", credit=100), Line("1132", credit=50)]) == 150


@pytest.mark.parametrize("lines", [
    [],
    [Line("1001", debit=100), Line("1303", credit=99)],
    [Line("1001", debit=100, credit=100)],
    [Line("1001"), Line("1303")],
    [Line("1001", debit=-5), Line("1303", credit=-5)],
    [Line("1001", debit=1.5), Line("1303", credit=1.5)],  # never a float
    [Line("1001", debit=True), Line("1303", credit=True)],
])
def test_what_is_not_one_balanced_entry_is_refused(lines):
    with pytest.raises(books.Unbalanced):
        books.check_balanced(lines)


amounts = st.integers(min_value=-10**12, max_value=10**12)


@given(st.lists(st.tuples(st.sampled_from(["1001", "1303", "1132", "6011"]), amounts), max_size=12))
def test_net_keeps_each_accounts_total_and_drops_zeros(changes):
    lines = [Line(a, debit=v) if v > 0 else Line(a, credit=-v) for a, v in changes if v]
    netted = books.net(lines)
    totals: dict[str, int] = {}
    for a, v in changes:
        totals[a] = totals.get(a, 0) + v
    assert {line.account: line.debit - line.credit for line in netted} == {a: v for a, v in totals.items() if v}
    assert all((line.debit == 0) != (line.credit == 0) for line in netted)


@given(st.dictionaries(st.sampled_from(["1001", "1303", "6011"]), amounts))
def test_a_balanced_set_of_changes_posts_as_a_balanced_entry(deltas):
    deltas = dict(deltas)
    deltas["4001"] = -sum(deltas.values())
    lines = books.lines_from_deltas(deltas)
    if lines:
        books.check_balanced(lines)
        assert books.check_balanced([line.mirrored() for line in lines]) == books.check_balanced(lines)


def test_the_provision_target_is_each_class_times_its_rate_rounded_once():
    rates = books.DEFAULT_PROVISION_RATES
    # 1 % of 333.33 yuan is 3.3333 and 2 % of 0.50 is 0.01: summed before rounding, half up.
    assert books.provision_target({"normal": 33333, "special_mention": 50}, rates) == 334
    assert books.provision_target({"loss": 12345, "doubtful": 101}, rates) == 12345 + 51
    assert books.provision_target({}, rates) == 0


def test_the_default_chart_maps_every_role_to_an_account_it_has():
    codes = {a.code for a in books.DEFAULT_CHART}
    assert set(books.DEFAULT_MAPPING) == set(books.ROLES)
    assert set(books.DEFAULT_MAPPING.values()) <= codes
    assert len(codes) == len(books.DEFAULT_CHART)
    assert {a.kind for a in books.DEFAULT_CHART} <= set(books.KINDS)
    assert {a.side for a in books.DEFAULT_CHART} <= set(books.SIDES)
    assert set(books.DEFAULT_PROVISION_RATES) == {"normal", "special_mention", "substandard", "doubtful", "loss"}
    assert books.DEFAULT_PROVISION_RATES["loss"] == Decimal("1.00")


def test_balances_read_on_the_accounts_normal_side():
    assert books.balance_of("debit", 500, 200) == 300
    assert books.balance_of("credit", 500, 200) == -300
    assert books.period_of(date(2026, 2, 9)) == "2026-02"
