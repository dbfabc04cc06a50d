"""Joint-liability groups (联保小组): the rules a group's members must keep, as data.

A product's ``credit_rules["group"]`` dict becomes ``GroupRules`` with ``GroupRules.from_dict``
(missing keys take the defaults: three to five members, at most one pair of relatives, no
exposure limit). ``check_members`` lists every way a proposed set of members breaks them — all
at once, each as an untranslated N_ message with its parameters — so the phone's group capture
and the server refuse the same groups with the same words. ``group_step`` and ``exposure`` are
what the group review needs: where the group stands in the review chain, and its exposure against
the limit.

Pure: no Flask, SQLAlchemy or app imports besides other domain modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from app.domain.i18n import N_

__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_MAX_RELATIVE_PAIRS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MIN_SIZE",
    "LARGEST_GROUP",
    "Exposure",
    "GroupRules",
    "GroupRulesError",
    "MemberFacts",
    "Problem",
    "check_members",
    "disbursement_refusal",
    "exposure",
    "normalise_pairs",
    "CHAIN",
    "GroupStep",
    "group_step",
    "back_in_review",
    "dissolve_refusal",
    "ENDED",
    "WITH_OFFICER",
    "DISSOLVE_REASON_MAX",
]

DEFAULT_MIN_SIZE = 3
DEFAULT_MAX_SIZE = 5
DEFAULT_MAX_RELATIVE_PAIRS = 1
# A bigger "group" is a village, not a group: the rules refuse a maximum above this.
LARGEST_GROUP = 10
# A group in one of these states binds its members (a borrower is in at most one such group).
ACTIVE_STATES: frozenset[str] = frozenset({"forming", "in_review", "returned", "approved"})

Problem = tuple[str, dict[str, object]]


class GroupRulesError(ValueError):
    """Invalid group rules; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


_INT_FIELDS = ("min_size", "max_size", "max_relative_pairs")


@dataclass(frozen=True)
class GroupRules:
    """A product's group rules (``Product.credit_rules["group"]``)."""

    min_size: int = DEFAULT_MIN_SIZE
    max_size: int = DEFAULT_MAX_SIZE
    # How many declared pairs of relatives a group may hold (0 = none at all).
    max_relative_pairs: int = DEFAULT_MAX_RELATIVE_PAIRS
    # The most the group may owe together: its members' requested amounts plus what they owe on
    # loans outstanding. None = no limit.
    exposure_limit: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise GroupRulesError(N_("%(field)s must be a whole number"), {"field": name})
            if value < 0:
                raise GroupRulesError(N_("%(field)s cannot be negative"), {"field": name})
        if self.min_size < 2:
            raise GroupRulesError(N_("A group needs at least 2 members"))
        if self.max_size > LARGEST_GROUP:
            raise GroupRulesError(
                N_("A group cannot have more than %(max)s members"), {"max": LARGEST_GROUP}
            )
        if self.min_size > self.max_size:
            raise GroupRulesError(
                N_("The smallest group size %(min)s is above the largest %(max)s"),
                {"min": self.min_size, "max": self.max_size},
            )
        limit = self.exposure_limit
        if limit is not None:
            if not isinstance(limit, Decimal) or not limit.is_finite():
                raise GroupRulesError(N_("%(field)s must be an amount"), {"field": "exposure_limit"})
            if limit <= 0:
                raise GroupRulesError(
                    N_("%(field)s must be more than zero"), {"field": "exposure_limit"}
                )
            if limit != limit.quantize(Decimal("0.01")):
                raise GroupRulesError(
                    N_("%(field)s cannot have more than 2 decimal places"),
                    {"field": "exposure_limit"},
                )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> GroupRules:
        """Build from ``credit_rules.get("group")``; None or {} gives the defaults."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise GroupRulesError(N_("Group rules must be a JSON object"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(d) - known)
        if unknown:
            # A typo would otherwise silently fall back to a default.
            raise GroupRulesError(N_("Unknown group rule %(field)s"), {"field": unknown[0]})
        kwargs: dict[str, Any] = dict(d)
        if kwargs.get("exposure_limit") is not None:
            kwargs["exposure_limit"] = _amount_from_json("exposure_limit", kwargs["exposure_limit"])
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the limit as a string); ``from_dict(r.to_dict()) == r``."""
        return {
            "min_size": self.min_size,
            "max_size": self.max_size,
            "max_relative_pairs": self.max_relative_pairs,
            "exposure_limit": None if self.exposure_limit is None else str(self.exposure_limit),
        }


def _amount_from_json(name: str, value: object) -> Decimal:
    # JSON floats are refused: a limit must not drift.
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise GroupRulesError(
            N_("%(field)s must be an amount written as text, e.g. \"30000.00\""), {"field": name}
        )
    try:
        return Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise GroupRulesError(N_("%(field)s must be an amount"), {"field": name}) from None


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know of one proposed member."""

    application_uuid: str
    borrower_name: str
    household_key: str | None  # None or "" = not known (never matches another)
    village: str
    # The other active group the borrower already belongs to, if any (its UUID and name).
    active_group_uuid: str | None = None
    active_group_name: str = ""


def normalise_pairs(relatives: Iterable[Sequence[str]] | None) -> list[tuple[str, str]]:
    """Declared relative pairs as sorted tuples, each once, in a stable order. Anything that is
    not a pair of two strings is kept as given so that ``check_members`` can name it."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for pair in relatives or ():
        if (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(u, str) for u in pair)
        ):
            key = (min(pair[0], pair[1]), max(pair[0], pair[1]))
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out


def check_members(
    rules: GroupRules,
    members: Sequence[MemberFacts],
    relatives: Iterable[Sequence[str]] | None = (),
    *,
    group_uuid: str | None = None,
) -> list[Problem]:
    """Every way ``members`` break ``rules``, as (N_ message, params); [] = a valid group.

    ``relatives`` are the pairs of member application UUIDs the officer declared relatives.
    ``group_uuid`` is the group being checked, when it exists already: a member whose active
    group is this one is not "in another group".
    """
    problems: list[Problem] = []
    count = len(members)
    if count < rules.min_size or count > rules.max_size:
        problems.append(
            (
                N_("A group has %(min)s to %(max)s members; this one has %(count)s"),
                {"min": rules.min_size, "max": rules.max_size, "count": count},
            )
        )
    by_uuid: dict[str, MemberFacts] = {}
    for m in members:
        if m.application_uuid in by_uuid:
            problems.append(
                (N_("%(name)s is in the group twice"), {"name": m.borrower_name})
            )
        by_uuid.setdefault(m.application_uuid, m)

    households: dict[str, list[str]] = {}
    for m in members:
        key = (m.household_key or "").strip()
        if key:
            households.setdefault(key, []).append(m.borrower_name)
    for names in households.values():
        if len(names) > 1:
            problems.append(
                (
                    N_("%(names)s are of one household: a group takes one member per household"),
                    {"names": "、".join(names)},
                )
            )

    for m in members:
        if not m.village.strip():
            problems.append((N_("The village of %(name)s is not given"), {"name": m.borrower_name}))
    villages = sorted({m.village.strip() for m in members if m.village.strip()})
    if len(villages) > 1:
        problems.append(
            (
                N_("The members live in different villages (%(villages)s): a group is of one village"),
                {"villages": "、".join(villages)},
            )
        )

    for m in members:
        if m.active_group_uuid is not None and m.active_group_uuid != group_uuid:
            problems.append(
                (
                    N_("%(name)s is already a member of the active group %(group)s"),
                    {"name": m.borrower_name, "group": m.active_group_name or m.active_group_uuid},
                )
            )

    raw = list(relatives or ())
    if any(not _is_pair(p) for p in raw):
        problems.append((N_("A relative pair must name two members"), {}))
    pairs = normalise_pairs(raw)
    counted = 0
    for a, b in pairs:
        if a == b:
            problems.append(
                (
                    N_("A relative pair names %(name)s twice"),
                    {"name": by_uuid[a].borrower_name if a in by_uuid else a},
                )
            )
            continue
        outside = [u for u in (a, b) if u not in by_uuid]
        if outside:
            problems.append(
                (
                    N_("A relative pair names %(who)s, who is not a member of the group"),
                    {"who": "、".join(outside)},
                )
            )
            continue
        counted += 1
    if counted > rules.max_relative_pairs:
        problems.append(
            (
                N_("The group has %(count)s pairs of relatives; at most %(max)s allowed"),
                {"count": counted, "max": rules.max_relative_pairs},
            )
        )
    return problems


def _is_pair(p: object) -> bool:
    return isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(u, str) for u in p)


# ---------------------------------------------------------------------------------------------
# Review as a whole


# The review chain in order; a group stands at the earliest step any of its members still waits at.
CHAIN: tuple[str, ...] = (
    "uploading", "awaiting_director", "awaiting_entry", "awaiting_l1", "awaiting_l2",
    "awaiting_special", "awaiting_disbursement", "disbursed",
)
ENDED: frozenset[str] = frozenset({"rejected", "withdrawn"})
DONE: frozenset[str] = frozenset({"awaiting_disbursement", "disbursed"})
# A member in one of these states is with the officer (returned to him, or its photos travelling).
WITH_OFFICER: frozenset[str] = frozenset({"returned", "uploading"})
# Up to first-level review the members travel side by side: a step is taken for all at once.
_TOGETHER: frozenset[str] = frozenset({"awaiting_director", "awaiting_entry", "awaiting_l1"})


@dataclass(frozen=True)
class GroupStep:
    """Where a group stands: ``state`` is the step a group decision is taken at now (None: no
    decision possible), ``members`` the indexes of the members it acts on, ``why`` the reason
    when none (an N_ message with params) and ``done`` when every remaining member passed."""

    state: str | None
    members: tuple[int, ...]
    why: Problem | None
    done: bool = False


def group_step(states: Sequence[str]) -> GroupStep:
    """Where a group whose members' applications are in ``states`` stands.

    Rejected and withdrawn members no longer count. Up to and including first-level review the
    remaining members move together: the director approves, and the first-level reviewer passes,
    only when every one of them waits at that step (data entry is per member, so the group waits
    until the last member's entry is complete). After first-level review the routing is each
    member's: members routed to second-level or special review are decided there, the earliest
    level first, while members needing no more review wait for disbursement — so a member sent to
    special review holds the group there. A member returned to the officer holds the group until
    it comes back. ``done``: every remaining member passed every level it needs.
    """
    remaining = [(i, s) for i, s in enumerate(states) if s not in ENDED]
    if not remaining:
        return GroupStep(None, (), (N_("No member of the group remains"), {}))
    if any(s in WITH_OFFICER for _, s in remaining):
        return GroupStep(
            None, (), (N_("A member's application is with the officer: the group waits for it"), {})
        )
    pending = [(i, s) for i, s in remaining if s not in DONE]
    if not pending:
        return GroupStep(None, (), None, done=True)
    earliest = min((s for _, s in pending), key=CHAIN.index)
    at = tuple(i for i, s in pending if s == earliest)
    if earliest in _TOGETHER and len(at) != len(pending):
        return GroupStep(
            None, (),
            (N_("The members are at different steps: the group moves when all of them wait at the same one"), {}),
        )
    if earliest == "awaiting_entry":
        return GroupStep(None, (), (N_("Data entry is done member by member"), {}))
    return GroupStep(earliest, at, None)


DISSOLVE_REASON_MAX = 500


def back_in_review(group_state: str, states: Sequence[str], members_to_come: int = 0, min_size: int = 1) -> bool:
    """Whether a ``returned`` group whose members' applications are now in ``states`` goes back to
    ``in_review``: no remaining member is with the officer any more (each returned member was
    resubmitted and its photos are in, or was withdrawn), no new member the officer added is still to
    come (``members_to_come``: announced by the first new member's manifest, not arrived yet), and at
    least ``min_size`` members remain — a group too small to pass stays with the officer to take new
    members (or to be dissolved), rather than going to a director who could only return it again.
    Any other group state is left alone (the group decisions set it)."""
    if group_state != "returned" or members_to_come > 0:
        return False
    remaining = [s for s in states if s not in ENDED]
    return len(remaining) >= max(min_size, 1) and not any(s in WITH_OFFICER for s in remaining)


def dissolve_refusal(group_name: str, group_state: str, reason: str) -> tuple[str, str, dict[str, object]] | None:
    """Why the group cannot be dissolved, as (code, N_ message, params); None: it can. An approved
    group stays (its members may be paid out); a dissolved one is dissolved already; the reason is
    required (it goes to the audit log: why its members are decided alone from now on)."""
    if group_state == "approved":
        return ("group_approved", N_("The group %(group)s is approved: it can no longer be dissolved."),
                {"group": group_name})
    if group_state == "dissolved":
        return ("group_dissolved_already", N_("The group %(group)s is dissolved already."), {"group": group_name})
    if not reason.strip():
        return ("reason_required", N_("Give the reason for dissolving the group."), {})
    if len(reason.strip()) > DISSOLVE_REASON_MAX:
        return ("reason_too_long", N_("The reason can be at most %(max)s characters."), {"max": DISSOLVE_REASON_MAX})
    return None


def disbursement_refusal(group_name: str, group_state: str) -> tuple[str, dict[str, object]] | None:
    """Why a member of a group in ``group_state`` may not be disbursed yet (None: it may): the
    members are paid out once the group is approved — every remaining member passed every level it
    needs — so that none is paid while another is still in review."""
    if group_state in ("approved", "dissolved"):
        return None
    return (
        N_("The joint-liability group %(group)s is not approved yet: its members are disbursed once every "
           "member has passed review."),
        {"group": group_name},
    )


@dataclass(frozen=True)
class Exposure:
    requested: Decimal  # the remaining members' requested amounts
    outstanding: Decimal  # what they owe on loans outstanding
    total: Decimal
    limit: Decimal | None
    over: bool


def exposure(
    requested: Iterable[Decimal], outstanding: Iterable[Decimal], limit: Decimal | None
) -> Exposure:
    """The group's exposure against its limit (over = strictly more than the limit)."""
    req = sum(requested, Decimal("0.00"))
    out = sum(outstanding, Decimal("0.00"))
    total = req + out
    return Exposure(req, out, total, limit, limit is not None and total > limit)
