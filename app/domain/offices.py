"""The office hierarchy as pure rules: head office → branches (支行/分部) → offices (办事处).

The tree is given as a mapping office id → parent id (None for a root); nothing here reads a
database, so the services and the scoping helper share one definition of "under".
"""
from __future__ import annotations

from collections.abc import Mapping

from app.domain.i18n import N_

HEAD_OFFICE, BRANCH, OFFICE = "head_office", "branch", "office"
KINDS = (HEAD_OFFICE, BRANCH, OFFICE)
KIND_LABELS = {HEAD_OFFICE: N_("Head office"), BRANCH: N_("Branch"), OFFICE: N_("Local office")}
# Which kinds may hold an office of each kind (a head office stands alone at the top).
PARENT_KINDS: dict[str, tuple[str, ...]] = {
    HEAD_OFFICE: (),
    BRANCH: (HEAD_OFFICE,),
    OFFICE: (HEAD_OFFICE, BRANCH),
}

MAX_CODE, MAX_NAME, MAX_ADDRESS = 20, 100, 200

Problem = tuple[str, dict[str, object]]


def descendants(parents: Mapping[int, int | None], root: int) -> set[int]:
    """``root`` and every office under it, however deep (a cycle in the data never loops)."""
    children: dict[int, list[int]] = {}
    for office, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(office)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def branch_of(parents: Mapping[int, int | None], kinds: Mapping[int, str]) -> dict[int, int]:
    """Each office's branch, the unit a report's "by branch" breakdown adds up to: a branch and the
    head office stand for themselves, an office for the branch above it (one straight under the
    head office for itself). A cycle in the data never loops."""
    found: dict[int, int] = {}
    for office in kinds:
        at, seen = office, {office}
        while kinds.get(at) == OFFICE and parents.get(at) is not None and parents[at] not in seen \
                and kinds.get(parents[at]) != HEAD_OFFICE:
            at = parents[at]
            seen.add(at)
        found[office] = at
    return found


def parent_problem(kind: str, parent_kind: str | None) -> Problem | None:
    """Whether an office of ``kind`` may sit under an office of ``parent_kind`` (None: no parent)."""
    allowed = PARENT_KINDS[kind]
    if not allowed:
        return None if parent_kind is None else (N_("The head office cannot be placed under another office."), {})
    if parent_kind is None:
        return (N_("Choose the office it belongs to (parent office)."), {})
    if parent_kind not in allowed:
        if kind == BRANCH:
            return (N_("A branch can only be placed directly under the head office."), {})
        return (N_("An office can only be placed under the head office or a branch."), {})
    return None


def move_problem(parents: Mapping[int, int | None], office: int, new_parent: int) -> Problem | None:
    """A move that would put an office under itself or under one of its own offices."""
    if new_parent == office:
        return (N_("An office cannot be placed under itself."), {})
    if new_parent in descendants(parents, office):
        return (N_("An office cannot be placed under one of its own offices."), {})
    return None


def coordinate(raw: str, low: float, high: float) -> tuple[float | None, str | None]:
    """A latitude or longitude typed in a form: empty → None; else a number within [low, high].
    The problem, if any, is "number" (not a number) or "range" (outside [low, high])."""
    raw = raw.strip()
    if not raw:
        return None, None
    try:
        value = float(raw)
    except ValueError:
        return None, "number"
    if not (low <= value <= high):  # NaN and infinities fail too
        return None, "range"
    return value, None
