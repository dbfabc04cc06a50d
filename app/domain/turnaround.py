"""Turnaround: how long applications spend in each step of the workflow, and where they wait. Pure.

A step is a stay in one waiting state of ``app.domain.workflow``: from the transition that put the
application there (for ``uploading`` the first time: the moment the officer captured it on the
phone) to the transition that took it out. The steps in their order:

captured → uploaded (``uploading``) → director (``awaiting_director``) → data entry
(``awaiting_entry``) → L1 (``awaiting_l1``) → L2 (``awaiting_l2``) → special
(``awaiting_special``) → disbursed (``awaiting_disbursement``); and back with the officer
(``returned``) when a reviewer sends it back.

An application sent back and resubmitted stays in a step more than once: each stay counts on its
own (the time a step takes each time it is done). Percentiles are by the nearest-rank method: the
p-th percentile is the smallest value such that at least p % of the values are at or below it, so
it is always one of the observed times (no time that no application took).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.i18n import N_

# (waiting state, the step's label), in the order an application goes through them.
STEPS: tuple[tuple[str, str], ...] = (
    ("uploading", N_("Captured → uploaded")),
    ("awaiting_director", N_("Director")),
    ("awaiting_entry", N_("Data entry")),
    ("awaiting_l1", N_("Level 1 review")),
    ("awaiting_l2", N_("Level 2 review")),
    ("awaiting_special", N_("Special review")),
    ("awaiting_disbursement", N_("Disbursement")),
    ("returned", N_("Returned to the officer")),
)
STEP_STATES: tuple[str, ...] = tuple(state for state, _label in STEPS)
STEP_LABELS: dict[str, str] = dict(STEPS)


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of non-empty ``values``."""
    if not values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True)
class StepFigures:
    count: int
    median: float
    p90: float


def figures(values: Sequence[float]) -> StepFigures | None:
    """Count, median and 90th percentile of a step's times (None when no stay ended)."""
    if not values:
        return None
    ordered = sorted(values)
    return StepFigures(len(ordered), percentile(ordered, 50), percentile(ordered, 90))


@dataclass(frozen=True)
class Stay:
    state: str
    started: datetime
    ended: datetime | None   # None: still there

    def seconds(self, now: datetime) -> float:
        return max(((self.ended or now) - self.started).total_seconds(), 0.0)


def stays(start: datetime, moves: Iterable[tuple[datetime, str, str]]) -> list[Stay]:
    """One application's stays in waiting states, from its capture ``start`` and its transitions
    ``(at, from_state, to_state)`` in order. A stay's end is the next transition's moment; the last
    state, if it is a waiting state, is a stay still open. A first move out of any state but
    ``uploading`` (an application imported with its loan: its history is not here) has no known
    start and is no stay."""
    found: list[Stay] = []
    since = start
    current = "uploading"
    first = True
    for at, from_state, to_state in moves:
        if from_state in STEP_STATES and known_start(first, from_state):
            found.append(Stay(from_state, since, at))
        since, current, first = at, to_state, False
    if current in STEP_STATES:
        found.append(Stay(current, since, None))
    return found


def known_start(first: bool, from_state: str) -> bool:
    """Whether a move ends a stay whose start is known: any move after the first; the first only
    out of ``uploading`` (started at the capture)."""
    return not first or from_state == "uploading"


def hours(seconds: float) -> float:
    return round(seconds / 3600, 1)
