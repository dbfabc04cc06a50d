"""The joint-liability group rule of the state machine: a member's passes and returns are the
group's, its rejection stays its own."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.domain.workflow import (
    GROUP_EVENTS,
    Actor,
    ApplicationFacts,
    Event,
    State,
    TransitionRefused,
    allowed_events,
    transition,
)
from app.domain.routing import RoutingDecision

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
DIRECTOR = Actor(7, frozenset({"director"}), 1)
REVIEWER = Actor(8, frozenset({"reviewer1"}), 9)


def facts(state: State, group: str | None = "东头小组") -> ApplicationFacts:
    return ApplicationFacts(state=state, officer_id=3, office_id=1, entered_by=4, group=group)


def test_group_events_are_the_passes_and_returns_of_decision_levels() -> None:
    assert Event.DIRECTOR_APPROVE in GROUP_EVENTS and Event.L1_PASS in GROUP_EVENTS
    assert Event.SPECIAL_RETURN_TO_OFFICER in GROUP_EVENTS
    for e in (Event.L1_REJECT, Event.DIRECTOR_REJECT, Event.ENTRY_COMPLETE, Event.ENTRY_RETURN,
              Event.WITHDRAW, Event.RESUBMIT, Event.DISBURSE):
        assert e not in GROUP_EVENTS


def test_a_member_alone_is_refused_with_the_group_named() -> None:
    with pytest.raises(TransitionRefused) as e:
        transition(facts(State.AWAITING_DIRECTOR), Event.DIRECTOR_APPROVE, DIRECTOR, NOW)
    assert e.value.refusal.code == "group"
    assert e.value.refusal.params["group"] == "东头小组"
    assert "group's page" in str(e.value)


def test_as_group_passes_and_routes() -> None:
    t = transition(facts(State.AWAITING_DIRECTOR), Event.DIRECTOR_APPROVE, DIRECTOR, NOW, as_group=True)
    assert t.to_state == State.AWAITING_ENTRY
    t = transition(facts(State.AWAITING_L1), Event.L1_PASS, REVIEWER, NOW,
                   routing=RoutingDecision(False, True, ()), as_group=True)
    assert t.to_state == State.AWAITING_SPECIAL


def test_rejection_stays_the_members_own() -> None:
    t = transition(facts(State.AWAITING_L1), Event.L1_REJECT, REVIEWER, NOW, "收入不实")
    assert t.to_state == State.REJECTED


def test_other_checks_come_first() -> None:
    # an actor without the role is told so, not sent to a group page he cannot use either
    with pytest.raises(TransitionRefused) as e:
        transition(facts(State.AWAITING_L1), Event.L1_PASS, DIRECTOR, NOW)
    assert e.value.refusal.code == "role"


def test_allowed_events() -> None:
    alone = allowed_events(facts(State.AWAITING_L1), REVIEWER)
    assert alone == [Event.L1_REJECT]
    together = allowed_events(facts(State.AWAITING_L1), REVIEWER, as_group=True)
    assert Event.L1_PASS in together and Event.L1_RETURN_TO_OFFICER in together
    assert allowed_events(facts(State.AWAITING_L1, group=None), REVIEWER) == together
