from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.groups import (
    GroupRules,
    GroupRulesError,
    MemberFacts,
    check_members,
    CHAIN,
    GroupStep,
    exposure,
    group_step,
)

D = Decimal


def member(i: int, **kw: object) -> MemberFacts:
    base: dict[str, object] = dict(
        application_uuid=f"u{i}",
        borrower_name=f"张{i}",
        household_key=f"h{i}",
        village="李家村",
    )
    base.update(kw)
    return MemberFacts(**base)  # type: ignore[arg-type]


THREE = [member(1), member(2), member(3)]


def messages(problems: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [m % p if p else m for m, p in problems]


def test_defaults() -> None:
    r = GroupRules.from_dict({})
    assert (r.min_size, r.max_size, r.max_relative_pairs, r.exposure_limit) == (3, 5, 1, None)
    assert GroupRules.from_dict(None) == r


def test_round_trip_through_json() -> None:
    r = GroupRules(min_size=3, max_size=4, max_relative_pairs=0, exposure_limit=D("150000.00"))
    assert GroupRules.from_dict(json.loads(json.dumps(r.to_dict()))) == r


@pytest.mark.parametrize(
    ("d", "fragment"),
    [
        ({"min_size": 1}, "at least 2"),
        ({"max_size": 11}, "more than 10"),
        ({"min_size": 5, "max_size": 4}, "above the largest"),
        ({"min_size": "3"}, "whole number"),
        ({"max_relative_pairs": True}, "whole number"),
        ({"max_relative_pairs": -1}, "negative"),
        ({"exposure_limit": 1.5}, "written as text"),
        ({"exposure_limit": "abc"}, "amount"),
        ({"exposure_limit": "0"}, "more than zero"),
        ({"exposure_limit": "NaN"}, "amount"),
        ({"exposure_limit": "10.001"}, "2 decimal"),
        ({"size": 3}, "Unknown group rule"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_rules_refused(d: object, fragment: str) -> None:
    with pytest.raises(GroupRulesError) as e:
        GroupRules.from_dict(d)  # type: ignore[arg-type]
    assert fragment in str(e.value)


def test_a_valid_group_has_no_problem() -> None:
    assert check_members(GroupRules(), THREE, []) == []


@pytest.mark.parametrize("n", [0, 1, 2, 6])
def test_size_outside_range(n: int) -> None:
    got = messages(check_members(GroupRules(), [member(i) for i in range(n)], []))
    assert got == [f"A group has 3 to 5 members; this one has {n}"]


def test_two_members_of_one_household_named() -> None:
    got = messages(check_members(GroupRules(), [member(1), member(2, household_key="h1"), member(3)]))
    assert got == ["张1、张2 are of one household: a group takes one member per household"]


def test_unknown_household_keys_never_match() -> None:
    ms = [member(1, household_key=None), member(2, household_key=""), member(3, household_key=" ")]
    assert check_members(GroupRules(), ms) == []


def test_different_villages() -> None:
    got = messages(check_members(GroupRules(), [member(1), member(2), member(3, village="王庄")]))
    assert got == [
        "The members live in different villages (李家村、王庄): a group is of one village"
    ]


def test_village_missing() -> None:
    got = messages(check_members(GroupRules(), [member(1), member(2), member(3, village=" ")]))
    assert got == ["The village of 张3 is not given"]


def test_member_in_another_active_group_named() -> None:
    ms = [member(1), member(2, active_group_uuid="g9", active_group_name="东头小组"), member(3)]
    got = messages(check_members(GroupRules(), ms))
    assert got == ["张2 is already a member of the active group 东头小组"]
    # ...but not when that group is the one being checked
    assert check_members(GroupRules(), ms, group_uuid="g9") == []


def test_relatives_over_the_limit() -> None:
    pairs = [["u1", "u2"], ["u3", "u2"]]
    got = messages(check_members(GroupRules(max_relative_pairs=1), THREE, pairs))
    assert got == ["The group has 2 pairs of relatives; at most 1 allowed"]
    assert check_members(GroupRules(max_relative_pairs=2), THREE, pairs) == []
    # one pair given twice, either way round, counts once
    assert check_members(GroupRules(), THREE, [["u1", "u2"], ["u2", "u1"]]) == []


def test_relative_pair_naming_a_non_member() -> None:
    got = messages(check_members(GroupRules(), THREE, [["u1", "x7"]]))
    assert got == ["A relative pair names x7, who is not a member of the group"]


def test_malformed_relative_pairs() -> None:
    got = messages(check_members(GroupRules(), THREE, [["u1"], ["u1", "u1"], "u1u2"]))
    assert got == ["A relative pair must name two members", "A relative pair names 张1 twice"]


def test_member_twice() -> None:
    got = messages(check_members(GroupRules(), [member(1), member(1), member(2)]))
    assert "张1 is in the group twice" in got


def test_every_problem_at_once() -> None:
    ms = [member(1), member(2, household_key="h1", village="王庄")]
    got = check_members(GroupRules(), ms, [["u1", "zz"]])
    assert len(got) == 4


def test_group_step_together_up_to_l1() -> None:
    assert group_step(["awaiting_director"] * 3) == GroupStep("awaiting_director", (0, 1, 2), None)
    s = group_step(["awaiting_l1", "rejected", "awaiting_l1"])
    assert (s.state, s.members) == ("awaiting_l1", (0, 2))
    assert group_step(["awaiting_l1", "awaiting_entry", "awaiting_l1"]).state is None
    assert group_step(["awaiting_entry"] * 3).state is None  # entry is per member
    assert group_step(["awaiting_director", "uploading"]).state is None
    assert group_step(["awaiting_l1", "returned"]).why is not None
    assert group_step(["rejected", "withdrawn"]).state is None


def test_group_step_after_l1_follows_each_members_routing() -> None:
    s = group_step(["awaiting_disbursement", "awaiting_special", "awaiting_l2"])
    assert (s.state, s.members, s.done) == ("awaiting_l2", (2,), False)
    s = group_step(["awaiting_disbursement", "awaiting_special", "awaiting_special"])
    assert (s.state, s.members) == ("awaiting_special", (1, 2))
    s = group_step(["awaiting_disbursement", "rejected", "disbursed"])
    assert s.done and s.state is None


@given(st.lists(st.sampled_from(list(CHAIN) + ["returned", "rejected", "withdrawn"]), max_size=6))
def test_group_step_acts_only_on_members_at_its_step(states: list[str]) -> None:
    s = group_step(states)
    assert all(states[i] == s.state for i in s.members)
    assert (s.state is None) == (not s.members)
    if s.state in ("awaiting_director", "awaiting_l1"):
        # every member still under review is there (those past every level wait for disbursement)
        ended = {"rejected", "withdrawn", "awaiting_disbursement", "disbursed"}
        assert {x for x in states if x not in ended} == {s.state}


def test_exposure() -> None:
    e = exposure([D("10000.00"), D("20000.00")], [D("5000.00")], D("35000.00"))
    assert (e.requested, e.outstanding, e.total, e.over) == (
        D("30000.00"), D("5000.00"), D("35000.00"), False,
    )
    assert exposure([D("35000.01")], [], D("35000.00")).over
    assert not exposure([D("1e9")], [], None).over


# --- invariants -----------------------------------------------------------------------------

names = st.text(alphabet="张王李赵刘", min_size=1, max_size=3)
members_st = st.lists(
    st.builds(
        MemberFacts,
        application_uuid=st.sampled_from([f"u{i}" for i in range(8)]),
        borrower_name=names,
        household_key=st.one_of(st.none(), st.sampled_from(["h1", "h2", "h3", "h4", "h5"])),
        village=st.sampled_from(["李家村", "王庄", ""]),
        active_group_uuid=st.one_of(st.none(), st.just("g1")),
    ),
    max_size=8,
)
pairs_st = st.lists(st.lists(st.sampled_from([f"u{i}" for i in range(9)]), min_size=2, max_size=2))
rules_st = st.builds(
    GroupRules,
    min_size=st.integers(2, 5),
    max_size=st.integers(5, 10),
    max_relative_pairs=st.integers(0, 3),
)


@settings(max_examples=300, deadline=None)
@given(rules_st, members_st, pairs_st)
def test_no_problem_means_a_lawful_group(
    rules: GroupRules, ms: list[MemberFacts], pairs: list[list[str]]
) -> None:
    problems = check_members(rules, ms, pairs)
    for message, params in problems:
        assert "%(" not in (message % params if params else message)
    if not problems:
        assert rules.min_size <= len(ms) <= rules.max_size
        uuids = [m.application_uuid for m in ms]
        assert len(set(uuids)) == len(uuids)
        keys = [m.household_key for m in ms if m.household_key]
        assert len(set(keys)) == len(keys)
        assert len({m.village for m in ms}) == 1 and ms[0].village
        assert all(m.active_group_uuid is None for m in ms)
        distinct = {frozenset(p) for p in pairs}
        assert all(len(p) == 2 and p <= set(uuids) for p in distinct)
        assert len(distinct) <= rules.max_relative_pairs


@settings(max_examples=200, deadline=None)
@given(rules_st, members_st, pairs_st, st.randoms())
def test_order_of_members_and_pairs_does_not_change_the_verdict(
    rules: GroupRules, ms: list[MemberFacts], pairs: list[list[str]], rnd: object
) -> None:
    shuffled = list(ms)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    flipped = [list(reversed(p)) for p in pairs]
    assert bool(check_members(rules, ms, pairs)) == bool(check_members(rules, shuffled, flipped))


@given(
    st.integers(2, 10).flatmap(lambda lo: st.tuples(st.just(lo), st.integers(lo, 10))),
    st.integers(0, 5),
    st.one_of(st.none(), st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=2)),
)
def test_rules_round_trip(sizes: tuple[int, int], pairs: int, limit: Decimal | None) -> None:
    r = GroupRules(min_size=sizes[0], max_size=sizes[1], max_relative_pairs=pairs, exposure_limit=limit)
    assert GroupRules.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_members_are_disbursed_once_the_group_is_approved() -> None:
    from app.domain.groups import disbursement_refusal

    assert disbursement_refusal("东头小组", "approved") is None
    assert disbursement_refusal("东头小组", "dissolved") is None
    for state in ("forming", "in_review", "returned"):
        message, params = disbursement_refusal("东头小组", state)  # type: ignore[misc]
        assert params == {"group": "东头小组"} and "not approved yet" in message


MEMBER_STATES = list(CHAIN) + ["returned", "rejected", "withdrawn"]


def test_a_returned_group_is_back_in_review_when_no_member_is_with_the_officer() -> None:
    from app.domain.groups import back_in_review

    assert not back_in_review("returned", ["awaiting_director", "returned", "returned"])
    assert not back_in_review("returned", ["awaiting_director", "uploading", "awaiting_director"])  # photos travelling
    assert back_in_review("returned", ["awaiting_director"] * 3)
    assert back_in_review("returned", ["awaiting_director", "awaiting_director", "withdrawn"])
    assert not back_in_review("returned", ["withdrawn", "rejected"])  # no member left: nothing to review
    # Fewer than the product's minimum left: the group stays with the officer to take new members.
    assert not back_in_review("returned", ["awaiting_director", "awaiting_director", "withdrawn"], 0, 3)
    assert back_in_review("returned", ["awaiting_director", "awaiting_director", "withdrawn"], 0, 2)
    assert back_in_review("returned", ["awaiting_director"] * 3 + ["rejected"], 0, 3)
    for other in ("forming", "in_review", "approved", "dissolved"):
        assert not back_in_review(other, ["awaiting_director"] * 3)  # the group decisions set those


@given(st.sampled_from(["forming", "in_review", "returned", "approved", "dissolved"]),
       st.lists(st.sampled_from(MEMBER_STATES), max_size=6), st.integers(min_value=0, max_value=6))
def test_back_in_review_exactly_when_the_group_no_longer_waits_for_the_officer(
        group_state: str, states: list[str], min_size: int) -> None:
    from app.domain.groups import back_in_review

    back = back_in_review(group_state, states, 0, min_size)
    if back:
        # the group's own step no longer names a member with the officer
        why = group_step(states).why
        assert why is None or "with the officer" not in why[0]
    remaining = [s for s in states if s not in ("rejected", "withdrawn")]
    assert back == (group_state == "returned" and len(remaining) >= max(min_size, 1)
                    and not any(s in ("returned", "uploading") for s in states))


def test_dissolving_is_refused_for_an_approved_or_dissolved_group_or_without_a_reason() -> None:
    from app.domain.groups import DISSOLVE_REASON_MAX, dissolve_refusal

    for state in ("forming", "in_review", "returned"):
        assert dissolve_refusal("东头小组", state, "只剩两户") is None
    assert dissolve_refusal("东头小组", "approved", "只剩两户")[0] == "group_approved"  # type: ignore[index]
    assert dissolve_refusal("东头小组", "dissolved", "只剩两户")[0] == "group_dissolved_already"  # type: ignore[index]
    assert dissolve_refusal("东头小组", "in_review", "  \n ")[0] == "reason_required"  # type: ignore[index]
    too_long = dissolve_refusal("东头小组", "in_review", "长" * (DISSOLVE_REASON_MAX + 1))
    assert too_long is not None and too_long[0] == "reason_too_long" and too_long[2] == {"max": DISSOLVE_REASON_MAX}


def test_a_returned_group_waits_for_the_new_members_still_to_come():
    from app.domain.groups import back_in_review

    back = ["awaiting_director", "awaiting_director", "awaiting_director"]
    assert back_in_review("returned", back) and back_in_review("returned", back, 0)
    assert not back_in_review("returned", back, 1)  # a new member announced has not arrived
    assert not back_in_review("returned", back + ["uploading"], 0)  # arrived, its photos on the way
    assert not back_in_review("in_review", back, 0)
