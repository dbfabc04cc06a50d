"""The office hierarchy's pure rules (app/domain/offices.py): what lies under an office, which moves
make a cycle, which kinds may hold which, and the GPS fields' ranges."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.domain import offices as rules


@st.composite
def forests(draw):
    """A random tree of offices (each parent has a smaller id), as id → parent id."""
    n = draw(st.integers(1, 30))
    return {i: (None if i == 0 else draw(st.one_of(st.none(), st.integers(0, i - 1)))) for i in range(n)}


def _ancestors(parents, office):
    seen = []
    while parents[office] is not None:
        office = parents[office]
        seen.append(office)
    return seen


@given(forests(), st.data())
def test_descendants_are_exactly_the_offices_whose_ancestors_include_the_root(parents, data):
    root = data.draw(st.sampled_from(sorted(parents)))
    expected = {o for o in parents if o == root or root in _ancestors(parents, o)}
    assert rules.descendants(parents, root) == expected


@given(forests(), st.data())
def test_a_move_is_refused_exactly_when_it_would_make_a_cycle(parents, data):
    office = data.draw(st.sampled_from(sorted(parents)))
    target = data.draw(st.sampled_from(sorted(parents)))
    refused = rules.move_problem(parents, office, target) is not None
    moved = {**parents, office: target}
    # After an accepted move, walking up from the office never comes back to it.
    cycle = office == target or office in _ancestors_safe(moved, target)
    assert refused == cycle


def _ancestors_safe(parents, office, limit=100):
    seen = []
    while parents.get(office) is not None and len(seen) < limit:
        office = parents[office]
        seen.append(office)
    return seen


def test_descendants_end_even_on_a_cycle_in_the_data():
    assert rules.descendants({1: 2, 2: 1, 3: 1}, 1) == {1, 2, 3}


def test_kind_rules():
    assert rules.parent_problem("head_office", None) is None
    assert rules.parent_problem("head_office", "branch") is not None
    assert rules.parent_problem("branch", "head_office") is None
    assert rules.parent_problem("branch", "branch") is not None and rules.parent_problem("branch", None) is not None
    assert rules.parent_problem("office", "head_office") is None and rules.parent_problem("office", "branch") is None
    assert rules.parent_problem("office", "office") is not None and rules.parent_problem("office", None) is not None


def test_coordinates():
    assert rules.coordinate(" ", -90, 90) == (None, None)
    assert rules.coordinate("30.6586", -90, 90) == (30.6586, None)
    assert rules.coordinate("-90", -90, 90) == (-90.0, None)
    for bad in ("90.0001", "-91", "nan", "inf", "-inf", "1e400"):
        assert rules.coordinate(bad, -90, 90) == (None, "range"), bad
    for bad in ("北纬30", "30,5", "0x10"):
        assert rules.coordinate(bad, -90, 90) == (None, "number"), bad
    assert math.isclose(rules.coordinate("1e1", -90, 90)[0], 10.0)


def test_each_office_adds_up_into_its_branch():
    parents = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 1}
    kinds = {1: rules.HEAD_OFFICE, 2: rules.BRANCH, 3: rules.OFFICE, 4: rules.OFFICE, 5: rules.OFFICE,
             6: rules.BRANCH}
    # An office under a branch → that branch; one straight under the head office → itself.
    assert rules.branch_of(parents, kinds) == {1: 1, 2: 2, 3: 2, 4: 2, 5: 5, 6: 6}
    # Bad data (an office under an office, a cycle) ends, at a branch or where the walk began.
    assert rules.branch_of({7: 8, 8: 7}, {7: rules.OFFICE, 8: rules.OFFICE}) == {7: 8, 8: 7}
