"""Which roles one account may hold together and where each works (issue 13 item Staff)."""
from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, strategies as st

from app.domain.staff_roles import (HEAD_OFFICE_ROLES, INCOMPATIBLE, OFFICE_ROLES, ROLES, WORKFLOW_ROLES,
                                    role_problems)
from app.models.org import HQ_ROLES, ROLES as MODEL_ROLES


def test_the_table_speaks_of_the_models_roles():
    assert set(ROLES) == set(MODEL_ROLES)
    assert HEAD_OFFICE_ROLES == HQ_ROLES


@pytest.mark.parametrize("pair", [
    ("cashier", "clerk"), ("cashier", "reviewer1"), ("cashier", "reviewer2"), ("cashier", "special_reviewer"),
    ("cashier", "officer"), ("admin", "officer"), ("admin", "reviewer1"), ("admin", "cashier"),
    ("admin", "clerk"), ("auditor", "admin"), ("auditor", "reviewer2"), ("auditor", "officer"),
])
def test_incompatible_pairs_are_refused_whatever_the_office(pair):
    for head in (True, False):
        messages = [m for m, _p in role_problems(set(pair), head)]
        assert "%(role)s and %(other)s cannot be held by one person (segregation of duties)." in messages


@pytest.mark.parametrize("roles", [{"reviewer1", "reviewer2"}, {"clerk", "reviewer1"}, {"reviewer2", "special_reviewer"},
                                   {"admin"}, {"auditor"}, {"cashier"}])
def test_allowed_head_office_combinations(roles):
    assert role_problems(roles, True) == []


@pytest.mark.parametrize("roles", [{"officer"}, {"director"}, {"officer", "director"}])
def test_office_roles_belong_to_an_office(roles):
    assert role_problems(roles, False) == []
    assert any("not at the head office" in m for m, _p in role_problems(roles, True))
    assert role_problems(roles, None) == [("Choose an office.", {})]


def test_head_office_roles_do_not_work_at_an_office():
    assert [m for m, _p in role_problems({"clerk"}, False)] == ["A %(role)s works at the head office."]


def test_no_role_and_unknown_role():
    assert role_problems(set(), True) == [("Choose at least one role.", {})]
    assert role_problems({"boss"}, True)[0][0] == "Unknown role: %(role)s."


@given(st.sets(st.sampled_from(ROLES), min_size=1), st.booleans())
def test_an_accepted_set_never_holds_an_apart_pair(roles, head):
    if not role_problems(roles, head):
        assert not any(frozenset(p) in INCOMPATIBLE for p in combinations(roles, 2))
        assert not ("admin" in roles and roles & WORKFLOW_ROLES)
        assert not ("auditor" in roles and len(roles) > 1)
        assert roles <= (HEAD_OFFICE_ROLES if head else OFFICE_ROLES)
