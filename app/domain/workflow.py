"""Loan application state machine.

uploading -> awaiting_director -> awaiting_entry -> awaiting_l1
          -> [awaiting_l2] -> [awaiting_special] -> awaiting_disbursement -> disbursed

Reviewers can send an application back to data entry or to the loan officer
(``returned``), or reject it. The officer can resubmit a returned application (it goes
back through ``uploading`` while any added photo is still on its way, then to the director) and
withdraw his own application at any time before it ends; so can the director of
the application's office.

``transition`` decides whether an event is allowed and what happens; ``apply``
folds the resulting Transition into the facts. Neither touches a database: the
service layer loads ApplicationFacts, calls ``transition``, stores the Transition
and the facts returned by ``apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from app.domain.i18n import N_
from app.domain.routing import RoutingDecision

__all__ = [
    "EVENT_LABELS",
    "GROUP_EVENTS",
    "REJECT_EVENTS",
    "RETURN_EVENTS",
    "STATE_LABELS",
    "SYSTEM_ACTOR",
    "TERMINAL",
    "Actor",
    "ApplicationFacts",
    "Event",
    "Refusal",
    "Role",
    "State",
    "Transition",
    "TransitionRefused",
    "allowed_events",
    "apply",
    "transition",
]


class State(StrEnum):
    UPLOADING = "uploading"
    AWAITING_DIRECTOR = "awaiting_director"
    AWAITING_ENTRY = "awaiting_entry"
    AWAITING_L1 = "awaiting_l1"
    AWAITING_L2 = "awaiting_l2"
    AWAITING_SPECIAL = "awaiting_special"
    AWAITING_DISBURSEMENT = "awaiting_disbursement"
    DISBURSED = "disbursed"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TERMINAL: frozenset[State] = frozenset({State.DISBURSED, State.REJECTED, State.WITHDRAWN})


class Event(StrEnum):
    PHOTOS_COMPLETE = "photos_complete"  # system: uploading -> awaiting_director
    DIRECTOR_APPROVE = "director_approve"  # -> awaiting_entry
    DIRECTOR_RETURN = "director_return"  # -> returned
    DIRECTOR_REJECT = "director_reject"  # -> rejected
    ENTRY_COMPLETE = "entry_complete"  # clerk: -> awaiting_l1
    ENTRY_RETURN = "entry_return"  # clerk: -> returned (photos unreadable)
    L1_PASS = "l1_pass"
    L1_RETURN_TO_ENTRY = "l1_return_to_entry"
    L1_RETURN_TO_OFFICER = "l1_return_to_officer"
    L1_REJECT = "l1_reject"
    L2_PASS = "l2_pass"
    L2_RETURN_TO_ENTRY = "l2_return_to_entry"
    L2_RETURN_TO_OFFICER = "l2_return_to_officer"
    L2_REJECT = "l2_reject"
    SPECIAL_PASS = "special_pass"
    SPECIAL_RETURN_TO_ENTRY = "special_return_to_entry"
    SPECIAL_RETURN_TO_OFFICER = "special_return_to_officer"
    SPECIAL_REJECT = "special_reject"
    RESUBMIT = "resubmit"  # officer: returned -> uploading (-> awaiting_director when photos are in)
    WITHDRAW = "withdraw"  # officer (own) or director (his office): any non-terminal -> withdrawn
    DISBURSE = "disburse"  # cashier: awaiting_disbursement -> disbursed
    # A second cashier, before any repayment: disbursed -> awaiting_disbursement.
    UNDO_DISBURSEMENT = "undo_disbursement"


class Role(StrEnum):
    OFFICER = "officer"
    DIRECTOR = "director"
    CLERK = "clerk"
    REVIEWER1 = "reviewer1"
    REVIEWER2 = "reviewer2"
    SPECIAL_REVIEWER = "special_reviewer"
    CASHIER = "cashier"
    ADMIN = "admin"  # manages users and products; grants no workflow powers
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None only for the system actor
    roles: frozenset[str]
    office_id: int | None


SYSTEM_ACTOR = Actor(None, frozenset({Role.SYSTEM.value}), None)


@dataclass(frozen=True)
class ApplicationFacts:
    """The parts of an application the workflow needs to decide."""

    state: State
    officer_id: int
    office_id: int
    entered_by: int | None = None
    # Level ("director", "l1", "l2", "special") -> user who decided at that level in the
    # current round. See ``apply`` for when entries are cleared.
    reviewed_by: Mapping[str, int] = field(default_factory=dict)
    needs_l2: bool = False  # set at L1 pass from routing
    needs_special: bool = False
    # Every (level, user) decision in any round, never cleared: a reviewer at one level
    # stays barred from the other levels after a return and resubmission.
    past_decisions: frozenset[tuple[str, int]] = frozenset()
    disbursed_by: int | None = None  # the cashier of the standing disbursement
    # Whole-village pre-credit (app/domain/village.py): a pre-approved household's application
    # within its limit needs the director's approval only (it goes on to disbursement).
    light_path: bool = False
    # The name of the joint-liability group the application belongs to while the group binds it
    # (not dissolved): its passes and returns are then the group's (``GROUP_EVENTS``), taken for
    # all members at once on the group's page (app/services/groups.py).
    group: str | None = None

    def __post_init__(self) -> None:
        # Accept the plain string stored in the database.
        object.__setattr__(self, "state", State(self.state))


@dataclass(frozen=True)
class Refusal:
    # "illegal", "role", "scope", "segregation", "comment_required", "routing_required", "group"
    code: str
    message: str  # N_ string, %-formatted with params
    params: Mapping[str, object]


class TransitionRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        text = refusal.message % dict(refusal.params) if refusal.params else refusal.message
        super().__init__(text)


@dataclass(frozen=True)
class Transition:
    event: Event
    from_state: State
    to_state: State
    actor_id: int | None
    at: datetime
    comment: str
    # Flags to store after this transition: copied from the facts, taken from the routing
    # at L1_PASS, and reset to False by any return (L1 routes again next time).
    needs_l2: bool
    needs_special: bool


STATE_LABELS: dict[State, str] = {
    State.UPLOADING: N_("Uploading photos"),
    State.AWAITING_DIRECTOR: N_("Awaiting director"),
    State.AWAITING_ENTRY: N_("Awaiting data entry"),
    State.AWAITING_L1: N_("Awaiting first-level review"),
    State.AWAITING_L2: N_("Awaiting second-level review"),
    State.AWAITING_SPECIAL: N_("Awaiting special review"),
    State.AWAITING_DISBURSEMENT: N_("Awaiting disbursement"),
    State.DISBURSED: N_("Disbursed"),
    State.RETURNED: N_("Returned to officer"),
    State.REJECTED: N_("Rejected"),
    State.WITHDRAWN: N_("Withdrawn"),
}

EVENT_LABELS: dict[Event, str] = {
    Event.PHOTOS_COMPLETE: N_("Photos complete"),
    Event.DIRECTOR_APPROVE: N_("Approve"),
    Event.DIRECTOR_RETURN: N_("Return to officer"),
    Event.DIRECTOR_REJECT: N_("Reject"),
    Event.ENTRY_COMPLETE: N_("Entry complete"),
    Event.ENTRY_RETURN: N_("Return to officer (photos unreadable)"),
    Event.L1_PASS: N_("Pass"),
    Event.L1_RETURN_TO_ENTRY: N_("Return to data entry"),
    Event.L1_RETURN_TO_OFFICER: N_("Return to officer"),
    Event.L1_REJECT: N_("Reject"),
    Event.L2_PASS: N_("Pass"),
    Event.L2_RETURN_TO_ENTRY: N_("Return to data entry"),
    Event.L2_RETURN_TO_OFFICER: N_("Return to officer"),
    Event.L2_REJECT: N_("Reject"),
    Event.SPECIAL_PASS: N_("Pass"),
    Event.SPECIAL_RETURN_TO_ENTRY: N_("Return to data entry"),
    Event.SPECIAL_RETURN_TO_OFFICER: N_("Return to officer"),
    Event.SPECIAL_REJECT: N_("Reject"),
    Event.RESUBMIT: N_("Resubmit"),
    Event.WITHDRAW: N_("Withdraw"),
    Event.DISBURSE: N_("Disburse"),
    Event.UNDO_DISBURSEMENT: N_("Undo the disbursement"),
}


@dataclass(frozen=True)
class _Rule:
    """Static description of one event: where it may fire, who may fire it."""

    from_states: frozenset[State]  # empty = any non-terminal state
    to_state: State | None  # None = decided at run time (passes)
    roles: frozenset[Role]  # actor needs at least one
    level: str | None  # review level for segregation and reviewed_by


def _r(frm: State | None, to: State | None, role: Role, level: str | None = None) -> _Rule:
    return _Rule(frozenset({frm}) if frm else frozenset(), to, frozenset({role}), level)


_D, _E = State.AWAITING_DIRECTOR, State.AWAITING_ENTRY
_L1, _L2, _SP = State.AWAITING_L1, State.AWAITING_L2, State.AWAITING_SPECIAL

_RULES: Mapping[Event, _Rule] = MappingProxyType(
    {
        Event.PHOTOS_COMPLETE: _r(State.UPLOADING, _D, Role.SYSTEM),
        Event.DIRECTOR_APPROVE: _r(_D, _E, Role.DIRECTOR, "director"),
        Event.DIRECTOR_RETURN: _r(_D, State.RETURNED, Role.DIRECTOR, "director"),
        Event.DIRECTOR_REJECT: _r(_D, State.REJECTED, Role.DIRECTOR, "director"),
        Event.ENTRY_COMPLETE: _r(_E, _L1, Role.CLERK),
        Event.ENTRY_RETURN: _r(_E, State.RETURNED, Role.CLERK),
        Event.L1_PASS: _r(_L1, None, Role.REVIEWER1, "l1"),
        Event.L1_RETURN_TO_ENTRY: _r(_L1, _E, Role.REVIEWER1, "l1"),
        Event.L1_RETURN_TO_OFFICER: _r(_L1, State.RETURNED, Role.REVIEWER1, "l1"),
        Event.L1_REJECT: _r(_L1, State.REJECTED, Role.REVIEWER1, "l1"),
        Event.L2_PASS: _r(_L2, None, Role.REVIEWER2, "l2"),
        Event.L2_RETURN_TO_ENTRY: _r(_L2, _E, Role.REVIEWER2, "l2"),
        Event.L2_RETURN_TO_OFFICER: _r(_L2, State.RETURNED, Role.REVIEWER2, "l2"),
        Event.L2_REJECT: _r(_L2, State.REJECTED, Role.REVIEWER2, "l2"),
        Event.SPECIAL_PASS: _r(_SP, State.AWAITING_DISBURSEMENT, Role.SPECIAL_REVIEWER, "special"),
        Event.SPECIAL_RETURN_TO_ENTRY: _r(_SP, _E, Role.SPECIAL_REVIEWER, "special"),
        Event.SPECIAL_RETURN_TO_OFFICER: _r(_SP, State.RETURNED, Role.SPECIAL_REVIEWER, "special"),
        Event.SPECIAL_REJECT: _r(_SP, State.REJECTED, Role.SPECIAL_REVIEWER, "special"),
        Event.RESUBMIT: _r(State.RETURNED, State.UPLOADING, Role.OFFICER),
        Event.WITHDRAW: _Rule(
            frozenset(), State.WITHDRAWN, frozenset({Role.OFFICER, Role.DIRECTOR}), None
        ),
        Event.DISBURSE: _r(State.AWAITING_DISBURSEMENT, State.DISBURSED, Role.CASHIER),
        Event.UNDO_DISBURSEMENT: _r(State.DISBURSED, State.AWAITING_DISBURSEMENT, Role.CASHIER),
    }
)

RETURN_EVENTS: frozenset[Event] = frozenset(
    e for e in Event if e.value.endswith("_return") or "_return_to_" in e.value
)
REJECT_EVENTS: frozenset[Event] = frozenset(e for e in Event if e.value.endswith("_reject"))
_COMMENT_REQUIRED = RETURN_EVENTS | REJECT_EVENTS | {Event.UNDO_DISBURSEMENT}
# A group member's passes and returns at a decision level move the whole group; its rejection
# and everything else (data entry, resubmission, withdrawal, disbursement) stay the member's own.
GROUP_EVENTS: frozenset[Event] = frozenset(
    e for e, r in _RULES.items() if r.level is not None and e not in REJECT_EVENTS
)
_LEVEL_LABELS: dict[str, str] = {
    "director": N_("director"),
    "l1": N_("first"),
    "l2": N_("second"),
    "special": N_("special"),
}


def _refusal(code: str, message: str, **params: object) -> Refusal:
    return Refusal(code, message, MappingProxyType(dict(params)))


def _check_authority(
    facts: ApplicationFacts, event: Event, actor: Actor, as_group: bool = False
) -> Refusal | None:
    """Checks that depend only on state and actor (shared by transition and allowed_events)."""
    refusal = _check_authority_alone(facts, event, actor)
    if refusal is None and facts.group is not None and event in GROUP_EVENTS and not as_group:
        return _refusal(
            "group",
            N_(
                "This application belongs to the joint-liability group %(group)s: it is passed"
                " or returned with the whole group, on the group's page"
            ),
            group=facts.group, event=EVENT_LABELS[event], event_code=event.value,
        )
    return refusal


def _check_authority_alone(facts: ApplicationFacts, event: Event, actor: Actor) -> Refusal | None:
    rule = _RULES[event]
    state = facts.state
    # Final states are final, except for the events that name them (undoing a mistaken payout).
    if (state in TERMINAL and state not in rule.from_states) or (
        rule.from_states and state not in rule.from_states
    ):
        return _refusal(
            "illegal",
            N_("Cannot %(event)s an application that is %(state)s"),
            event=EVENT_LABELS[event], state=STATE_LABELS[state],
            event_code=event.value, state_code=state.value,
        )

    held = rule.roles & actor.roles
    human_event = Role.SYSTEM not in rule.roles
    # A human step must be attributable to a user; admin grants nothing by itself.
    if not held or (human_event and actor.user_id is None):
        return _refusal(
            "role",
            N_("You do not have the role needed to %(event)s this application"),
            event=EVENT_LABELS[event], event_code=event.value,
            roles=", ".join(sorted(r.value for r in rule.roles)),
        )

    # Scope: whose application is it?
    if event is Event.WITHDRAW:
        own = Role.OFFICER in held and actor.user_id == facts.officer_id
        office = Role.DIRECTOR in held and actor.office_id == facts.office_id
        if not (own or office):
            return _refusal(
                "scope",
                N_(
                    "Only the application's own loan officer or the director of its office"
                    " can withdraw it"
                ),
            )
    elif event is Event.UNDO_DISBURSEMENT:
        if actor.user_id == facts.disbursed_by:
            return _refusal(
                "segregation",
                N_("You made this disbursement, so a second person must undo it"),
            )
    elif event is Event.RESUBMIT:
        if actor.user_id != facts.officer_id:
            return _refusal(
                "scope", N_("Only the application's own loan officer can resubmit it")
            )
    elif rule.level == "director" and actor.office_id != facts.office_id:
        return _refusal(
            "scope", N_("This application belongs to another office"),
            office_id=facts.office_id,
        )

    # Segregation of duties: nobody decides on what they captured, entered, or already
    # decided at another level (in any round); nobody pays out a loan they captured.
    if rule.level == "director" or event in (
        Event.ENTRY_COMPLETE, Event.ENTRY_RETURN, Event.DISBURSE,
    ):
        if actor.user_id == facts.officer_id:
            return _refusal(
                "segregation",
                N_("You captured this application, so someone else must %(event)s it"),
                event=EVENT_LABELS[event], event_code=event.value,
            )
    elif rule.level is not None:
        if actor.user_id == facts.officer_id:
            return _refusal(
                "segregation",
                N_("You captured this application, so someone else must review it"),
            )
        if actor.user_id == facts.entered_by:
            return _refusal(
                "segregation",
                N_("You entered this application's data, so someone else must review it"),
            )
        decisions = set(facts.reviewed_by.items()) | set(facts.past_decisions)
        for level, uid in sorted(decisions):
            if level != rule.level and uid == actor.user_id:
                return _refusal(
                    "segregation",
                    N_("You already decided on this application at the %(level)s level"),
                    level=_LEVEL_LABELS.get(level, level), level_code=level,
                )
    return None


def transition(
    facts: ApplicationFacts,
    event: Event,
    actor: Actor,
    now: datetime,
    comment: str = "",
    routing: RoutingDecision | None = None,
    *,
    as_group: bool = False,
) -> Transition:
    """Decide ``event`` by ``actor``; raises TransitionRefused with the first failed check.
    ``as_group``: the event is taken for the member's whole group (see ``GROUP_EVENTS``)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    event = Event(event)
    refusal = _check_authority(facts, event, actor, as_group)
    if refusal is not None:
        raise TransitionRefused(refusal)

    comment = comment.strip()
    if event in _COMMENT_REQUIRED and not comment:
        raise TransitionRefused(
            _refusal(
                "comment_required",
                N_("Please give a reason to %(event)s"),
                event=EVENT_LABELS[event], event_code=event.value,
            )
        )

    rule = _RULES[event]
    needs_l2, needs_special = facts.needs_l2, facts.needs_special
    if event is Event.L1_PASS:
        if routing is None:
            raise TransitionRefused(
                _refusal(
                    "routing_required",
                    N_("The routing rules must be evaluated before first-level review can pass"),
                )
            )
        needs_l2, needs_special = routing.needs_l2, routing.needs_special
        to_state = _after_l1(needs_l2, needs_special)
    elif event is Event.L2_PASS:
        to_state = State.AWAITING_SPECIAL if needs_special else State.AWAITING_DISBURSEMENT
    elif event is Event.DIRECTOR_APPROVE and facts.light_path:
        to_state = State.AWAITING_DISBURSEMENT  # the light path: no entry, no review levels
    else:
        assert rule.to_state is not None
        to_state = rule.to_state

    if event in RETURN_EVENTS:
        needs_l2 = needs_special = False

    return Transition(
        event=event,
        from_state=facts.state,
        to_state=to_state,
        actor_id=actor.user_id,
        at=now,
        comment=comment,
        needs_l2=needs_l2,
        needs_special=needs_special,
    )


def _after_l1(needs_l2: bool, needs_special: bool) -> State:
    if needs_l2:
        return State.AWAITING_L2
    if needs_special:
        return State.AWAITING_SPECIAL
    return State.AWAITING_DISBURSEMENT


def level_of_event() -> dict[Event, str]:
    """The review level ("director", "l1", "l2", "special") of each decision event."""
    return {e: r.level for e, r in _RULES.items() if r.level is not None}


def allowed_events(facts: ApplicationFacts, actor: Actor, *, as_group: bool = False) -> list[Event]:
    """Events ``actor`` may fire now (given a comment and routing where needed), in Event order."""
    return [e for e in Event if _check_authority(facts, e, actor, as_group) is None]


def apply(facts: ApplicationFacts, t: Transition) -> ApplicationFacts:
    """Facts after ``t``.

    Review history is per round, which keeps the facts small:
    - a decision at a review level records the actor under that level;
    - ENTRY_COMPLETE records the clerk in ``entered_by``; it is kept across returns and
      only replaced when the data is entered again;
    - a return to data entry clears "l1", "l2" and "special" but keeps "director", since
      the director's approval still stands;
    - any move to RETURNED clears ``reviewed_by`` entirely, because a resubmitted
      application goes through the whole chain again.
    ``past_decisions`` keeps every (level, user) of every round, so segregation between
    levels holds across rounds too.
    """
    if t.from_state != facts.state:
        raise ValueError(f"transition from {t.from_state} applied to facts in {facts.state}")
    reviewed = dict(facts.reviewed_by)
    entered_by = facts.entered_by
    event = Event(t.event)
    level = _RULES[event].level
    past = facts.past_decisions
    if level is not None and t.actor_id is not None:
        reviewed[level] = t.actor_id
        past = past | {(level, t.actor_id)}
    if event == Event.ENTRY_COMPLETE:
        entered_by = t.actor_id
    disbursed_by = facts.disbursed_by
    if event == Event.DISBURSE:
        disbursed_by = t.actor_id
    elif event == Event.UNDO_DISBURSEMENT:
        disbursed_by = None
    if t.to_state == State.RETURNED:
        reviewed = {}
    elif t.to_state == State.AWAITING_ENTRY and event in RETURN_EVENTS:
        reviewed = {k: v for k, v in reviewed.items() if k == "director"}
    return replace(
        facts,
        state=State(t.to_state),
        entered_by=entered_by,
        reviewed_by=reviewed,
        needs_l2=t.needs_l2,
        needs_special=t.needs_special,
        past_decisions=past,
        disbursed_by=disbursed_by,
    )
